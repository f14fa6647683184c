// Per-device IPv6 settings iproute2 cannot make. The only one: accept_ra = 0, so a router advertisement that came
// through the tunnel can never add addresses or routes to the TUN (the overlay's routes are ours alone). It is
// the device's own sysctl, created with the device and gone with it: nothing system-wide changes
// (docs/ipv6-D.md). Link-local addresses, and with them router solicitations, are off already (addrgenmode none).

import { writeFile } from 'node:fs/promises';

/** The sysctl file of one device's IPv6 setting; the network namespace is the calling process's. */
export function ipv6ConfPath(dev: string, key: string): string {
  if (dev === '' || dev === '.' || dev === '..' || dev.includes('/')) throw new RangeError(`not a device name: ${JSON.stringify(dev)}`);
  return `/proc/sys/net/ipv6/conf/${dev}/${key}`;
}

/** Sets accept_ra = 0 on `dev`; false when the kernel refused (IPv6 disabled, no /proc): harmless, as then no RA
 * can arrive either. */
export async function refuseRouterAdvertisements(dev: string): Promise<boolean> {
  try {
    await writeFile(ipv6ConfPath(dev, 'accept_ra'), '0');
    return true;
  } catch {
    return false;
  }
}
