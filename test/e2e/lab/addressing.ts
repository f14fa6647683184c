import { formatIpv4, parseIpv4 } from '../../../pkg/ip/ipv4.js';

// The lab's address plan. These ranges are documentation/private ranges and exist only inside the lab's namespaces;
// no namespace is linked to the root namespace, so nothing routes out.
//
//   router k's WAN link (/30)       203.0.113.(4k+1) internet side, 203.0.113.(4k+2) router       k = 0..62
//   public host k's link (/30)      198.51.100.(4k+1) internet side, 198.51.100.(4k+2) host      k = 0..62
//   LAN behind router k (/24)       192.168.(k+1).0/24: router .1, hosts .2, .3, …
//   flat L2 segment (/24)           198.18.0.0/24 (RFC 2544 benchmarking range): hosts .1, .2, …
//
// 192.0.2.0/24 (TEST-NET-1) is deliberately unused: build machines use it for their real uplink.

export const ROUTER_WAN_BASE = '203.0.113.0';
export const PUBLIC_HOST_BASE = '198.51.100.0';
export const FLAT_BASE = '198.18.0.0';
/** Every address the lab hands out by default lies in one of these. */
export const LAB_RANGES = ['203.0.113.0/24', '198.51.100.0/24', '198.18.0.0/24', '192.168.0.0/16'] as const;

export interface PointToPoint {
  /** Address of the internet side, without prefix length. */
  near: string;
  /** Address of the attached namespace, without prefix length. */
  far: string;
  prefix: 30;
}

/** The k-th /30 inside the /24 starting at `base`. */
export function pointToPoint(base: string, k: number): PointToPoint {
  if (!Number.isInteger(k) || k < 0 || k > 62) throw new RangeError(`point-to-point link index ${k} is outside 0..62`);
  const network = parseIpv4(base) + 4 * k;
  return { near: formatIpv4(network + 1), far: formatIpv4(network + 2), prefix: 30 };
}

/** Host number `n` (1-based) inside the /24 starting at `base`. */
export function hostInSlash24(base: string, n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new RangeError(`host number ${n} is outside 1..254`);
  return formatIpv4(parseIpv4(base) + n);
}

export function routerLan(k: number): string {
  return `192.168.${k + 1}.0/24`;
}

/** Splits '10.1.2.3/24' into ['10.1.2.3', 24]. */
export function splitCidr(cidr: string): [string, number] {
  const [ip, prefix] = cidr.split('/');
  if (ip === undefined || prefix === undefined) throw new Error(`not a CIDR: ${cidr}`);
  return [ip, Number(prefix)];
}
