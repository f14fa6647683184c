// openTun: create a TUN device, configure it (iproute.ts, and ipv6-sysctl.ts when it has IPv6 addresses) and hand
// back a LinuxTun. On any setup failure the fd is closed, which deletes the half-configured device.

import { loadNativeAddon } from './addon.js';
import type { TunDevice } from './device.js';
import { TunError } from './errors.js';
import { deviceMtu, planIpCommands, runIpPlan, tunNetworks, type TunConfig } from './iproute.js';
import { refuseRouterAdvertisements } from './ipv6-sysctl.js';
import { LinuxTun, type LinuxTunOptions } from './linux.js';

export interface OpenTunOptions extends TunConfig, LinuxTunOptions {
  /** Interface name; absent or '' lets the kernel choose ("tun0"); "mesh%d" is a kernel-filled template. */
  name?: string;
}

export async function openTun(opts: OpenTunOptions): Promise<TunDevice> {
  const addon = loadNativeAddon();
  let opened: { fd: number; name: string };
  try {
    opened = addon.tun_open(opts.name ?? '');
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new TunError('ETUNOPEN', `cannot create tun ${JSON.stringify(opts.name ?? '')}: ${detail}`, { cause: err });
  }
  const tun = new LinuxTun(addon, opened.fd, opened.name, deviceMtu(opts), { batchSize: opts.batchSize });
  try {
    await runIpPlan(planIpCommands(opened.name, opts));
    if (tunNetworks(opts).some((n) => n.addr.family === 6)) await refuseRouterAdvertisements(opened.name);
  } catch (err) {
    await tun.close();
    if (err instanceof TunError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new TunError('ETUNCONFIG', `cannot configure tun ${opened.name}: ${detail}`, { cause: err });
  }
  return tun;
}
