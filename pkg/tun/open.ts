// openTun: create a TUN device, configure it (iproute.ts, and ipv6-sysctl.ts when it has IPv6 addresses) and hand
// back a LinuxTun. On any setup failure the fd is closed, which deletes the half-configured device.

import { formatIpPrefix } from '../ip/prefix.js';
import { loadNativeAddon } from '../native/addon.js';
import type { TunDevice } from './device.js';
import { TunError } from './errors.js';
import { deviceMtu, planIpCommands, runIpPlan, tunNetworks, type TunConfig } from './iproute.js';
import { ipv6UnavailableReason, refuseRouterAdvertisements } from './ipv6-sysctl.js';
import { LinuxTun, type LinuxTunOptions } from './linux.js';

export interface OpenTunOptions extends TunConfig, LinuxTunOptions {
  /** Interface name; absent or '' lets the kernel choose ("tun0"); "mesh%d" is a kernel-filled template. */
  name?: string;
  /** false: no UDP segmentation offloads, each datagram its own TUN write (tun.udp_offload, docs/ipv6.md). */
  udpOffload?: boolean;
}

export async function openTun(opts: OpenTunOptions): Promise<TunDevice> {
  const addon = loadNativeAddon();
  let opened: { fd: number; name: string };
  try {
    opened = addon.tun_open(opts.name ?? '', opts.udpOffload ?? true);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new TunError('ETUNOPEN', `cannot create tun ${JSON.stringify(opts.name ?? '')}: ${detail}`, { cause: err });
  }
  const tun = new LinuxTun(addon, opened.fd, opened.name, deviceMtu(opts), {
    batchSize: opts.batchSize,
    counters: opts.counters,
  });
  try {
    const plan = planIpCommands(opened.name, opts);
    const ipv6 = tunNetworks(opts).filter((n) => n.addr.family === 6);
    if (ipv6.length > 0) {
      const reason = ipv6UnavailableReason(opened.name);
      if (reason !== null) {
        const nets = ipv6.map((n) => formatIpPrefix(n)).join(', ');
        throw new TunError(
          'ETUNCONFIG',
          `tun ${opened.name}: ${reason}; the certificate's IPv6 networks (${nets}) cannot go on it`,
        );
      }
    }
    await runIpPlan(plan);
    if (ipv6.length > 0) refuseRouterAdvertisements(opened.name);
  } catch (err) {
    await tun.close();
    if (err instanceof TunError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new TunError('ETUNCONFIG', `cannot configure tun ${opened.name}: ${detail}`, { cause: err });
  }
  return tun;
}
