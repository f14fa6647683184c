import type { Host } from './lab.js';
import { deepMerge } from './overlay-config.js';
import type { OverlayNet, OverlayNode, OverlayNodeOptions } from './overlay-net.js';

// Overlay nodes on one underlay that all know each other from static_host_map (no lighthouse), started together:
// the setup for tests about what flows between peers rather than how peers find each other.

export interface StaticPeer extends OverlayNodeOptions {
  host: Host;
  vpnIp: string;
}

/** Starts every peer with every other peer's underlay address in its static_host_map; resolves once all are ready. */
export function startStaticPeers(net: OverlayNet, peers: StaticPeer[]): Promise<OverlayNode[]> {
  const endpoint = (p: StaticPeer): string => `${p.host.ip}:${p.listenPort ?? 4242}`;
  return Promise.all(
    peers.map(({ host, ...options }) => {
      const others = peers.filter((o) => o.vpnIp !== options.vpnIp);
      const staticHostMap = Object.fromEntries(others.map((o) => [o.vpnIp, [endpoint(o)]]));
      return net.start(host, {
        ...options,
        config: deepMerge({ static_host_map: staticHostMap }, options.config ?? {}),
      });
    }),
  );
}
