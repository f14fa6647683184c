// Per-device IPv6 settings iproute2 cannot make or show plainly: accept_ra = 0, so a router advertisement that came
// through the tunnel can never add addresses or routes to the TUN (the overlay's routes are ours alone), and
// whether IPv6 is on for the new device at all. Only the device's own sysctls, created with the device and gone
// with it: nothing system-wide changes (docs/ipv6.md). Link-local addresses, and with them router
// solicitations, are off already (addrgenmode none).

// Synchronous: two tiny procfs files at setup, and node:fs is loaded at start anyway, where node:fs/promises is
// kept off the start path (test/unit/start-builtins).
import { readFileSync, writeFileSync } from 'node:fs';

/** The sysctl file of one device's IPv6 setting; the network namespace is the calling process's. */
export function ipv6ConfPath(dev: string, key: string): string {
  if (dev === '' || dev === '.' || dev === '..' || dev.includes('/'))
    throw new RangeError(`not a device name: ${JSON.stringify(dev)}`);
  return `/proc/sys/net/ipv6/conf/${dev}/${key}`;
}

/** Sets accept_ra = 0 on `dev`; false when the kernel refused (IPv6 disabled, no /proc): harmless, as then no RA
 * can arrive either. */
export function refuseRouterAdvertisements(dev: string): boolean {
  try {
    writeFileSync(ipv6ConfPath(dev, 'accept_ra'), '0');
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `dev` cannot take IPv6 addresses, or null when it can. A host whose new interfaces get disable_ipv6 = 1
 * (net.ipv6.conf.default.disable_ipv6) has decided against IPv6, and we do not override that; without this check
 * the address would fail with "IPv6 is disabled on this device", which does not say what to change.
 */
export function ipv6UnavailableReason(dev: string): string | null {
  let value: string;
  try {
    value = readFileSync(ipv6ConfPath(dev, 'disable_ipv6'), 'utf8').trim();
  } catch {
    return 'this kernel has no IPv6 (no /proc/sys/net/ipv6)';
  }
  if (value === '0') return null;
  return 'IPv6 is disabled for new interfaces on this host (sysctl net.ipv6.conf.default.disable_ipv6 or .all.disable_ipv6 is 1)';
}
