// A RelayManager driven through a fake env: tunnels are bare HostInfo stand-ins, sends and handshakes are recorded,
// time is a ManualClock. No sockets, no timers, no crypto.

import { ManualClock } from '../../../pkg/clock/clock.js';
import type { HostInfo } from '../../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../../pkg/hostmap/hostmap.js';
import { parseIpPrefix } from '../../../pkg/ip/prefix.js';
import type { VpnIp } from '../../../pkg/ip/vpn-ip.js';
import { Logger } from '../../../pkg/log/logger.js';
import { Counters } from '../../../pkg/metrics/counters.js';
import { ControlType, type ControlMessage } from '../../../pkg/relay/control.js';
import { RelayManager } from '../../../pkg/relay/manager.js';
import { udpAddr } from '../../../pkg/udp/addr.js';

export interface RelayEnvOptions {
  amRelay?: boolean;
  /** Peers we have a direct tunnel to. */
  tunnels?: VpnIp[];
  /** relay.relays: hops we accept relays through as the target. */
  relaysForUs?: VpnIp[];
  /** Our overlay network (default 10.99.0.0/16); `vpnNetworks` gives several (IPv6 too) instead. */
  vpnNet?: string;
  vpnNetworks?: string[];
  /** All our overlay addresses, primary first (default: just `me`). */
  myAddrs?: VpnIp[];
}

export function relayEnv(me: VpnIp, opts: RelayEnvOptions = {}) {
  const hostmap = new HostMap();
  /**
   * A tunnel stand-in, indexed under each of `vpnAddrs` (primary first) as the hostmap does; `certVersion` 2 makes
   * the relay messages on it use the v2 layout.
   */
  const addTunnel = (vpnIp: VpnIp, vpnAddrs: VpnIp[] = [vpnIp], certVersion?: 1 | 2): HostInfo => {
    const octet = typeof vpnIp === 'number' ? vpnIp & 0xff : hostmap.byPrimary.size + 1;
    const host = {
      vpnIp,
      vpnAddrs,
      certVersion,
      remote: udpAddr(`198.51.100.${octet}`, 4242),
      localIndex: hostmap.allocateIndex(),
      remoteIndex: typeof vpnIp === 'number' ? vpnIp : octet,
    } as unknown as HostInfo;
    for (const a of vpnAddrs) hostmap.byVpnIp.set(a, host);
    hostmap.byPrimary.set(vpnIp, host);
    return host;
  };
  for (const vpnIp of opts.tunnels ?? []) addTunnel(vpnIp);
  const sent: Array<{ to: VpnIp; m: ControlMessage }> = [];
  const handshakes: VpnIp[] = [];
  /** Handshakes still pending: a test ends one by deleting it. */
  const pending = new Set<VpnIp>();
  const ready: VpnIp[] = [];
  const logLines: string[] = [];
  const counters = new Counters();
  const clock = new ManualClock();
  const vpnNetworks = (opts.vpnNetworks ?? [opts.vpnNet ?? '10.99.0.0/16']).map(parseIpPrefix);
  const manager = new RelayManager({
    hostmap,
    counters,
    log: new Logger('info', 'text', (line) => logLines.push(line), true),
    clock,
    myAddrs: () => opts.myAddrs ?? [me],
    vpnNetworks: () => vpnNetworks,
    amRelay: () => opts.amRelay ?? false,
    relaysForUs: () => opts.relaysForUs ?? [],
    sendControl: (host, m) => sent.push({ to: host.vpnIp, m }),
    startHandshake: (vpnIp) => {
      if (hostmap.byVpnIp.has(vpnIp) || pending.has(vpnIp)) return false;
      handshakes.push(vpnIp);
      pending.add(vpnIp);
      return true;
    },
    handshakePending: (vpnIp) => pending.has(vpnIp),
    sendOnHop: () => {},
    relayReady: (vpnIp) => ready.push(vpnIp),
    acceptOnHop: () => {},
    deliverInner: () => {},
  });
  const tunnel = (vpnIp: VpnIp): HostInfo => hostmap.byVpnIp.get(vpnIp)!;
  return { manager, hostmap, sent, handshakes, pending, ready, counters, clock, logLines, tunnel, addTunnel };
}

export function relayRequest(initiatorRelayIndex: number, from: VpnIp, to: VpnIp): ControlMessage {
  return {
    type: ControlType.CreateRelayRequest,
    initiatorRelayIndex,
    responderRelayIndex: 0,
    relayFromIp: from,
    relayToIp: to,
  };
}

export function relayResponse(
  responderRelayIndex: number,
  initiatorRelayIndex: number,
  from: VpnIp,
  to: VpnIp,
): ControlMessage {
  return {
    type: ControlType.CreateRelayResponse,
    initiatorRelayIndex,
    responderRelayIndex,
    relayFromIp: from,
    relayToIp: to,
  };
}
