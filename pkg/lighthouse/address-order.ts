// Orders a peer's candidate underlay addresses the way Nebula does (docs/wire-format.md, "Candidate order"): preferred
// ranges first, then IPv6 before IPv4, public IPv4 before private, then by address bytes and port. Duplicates are
// removed. Preferred ranges may be IPv6 (IpPrefix), as Nebula's preferred_ranges are netip.Prefixes (docs/ipv6.md).

import { netContains, parseIpv4, type Ipv4Net } from '../ip/ipv4.js';
import { ipv6ToBigInt } from '../ip/ipv6.js';
import type { IpPrefix } from '../ip/prefix.js';
import { parseVpnIp, vpnIpInPrefix } from '../ip/vpn-ip.js';
import { addrKey, isIpv6Literal, type UdpAddr } from '../udp/addr.js';
import { isPrivateAddress } from '../daemon/private-address.js';

/** A preferred range: an IPv4 net (the IPv4 fast path) or a prefix of either family. */
export type PreferredRange = Ipv4Net | IpPrefix;

function inRange(a: string, v6: boolean, n: PreferredRange): boolean {
  if (!('addr' in n)) return !v6 && netContains(n, parseIpv4(a));
  try {
    return vpnIpInPrefix(parseVpnIp(a), n);
  } catch {
    return false; // a scoped literal (fe80::1%eth0) is in no configured range
  }
}

function rank(a: UdpAddr, preferred: readonly PreferredRange[]): number[] {
  const v6 = isIpv6Literal(a.address);
  const pref = preferred.some((n) => inRange(a.address, v6, n)) ? 0 : 1;
  return [pref, v6 ? 0 : 1, !v6 && isPrivateAddress(a.address) ? 1 : 0];
}

export function orderAddresses(addrs: Iterable<UdpAddr>, preferred: readonly PreferredRange[] = []): UdpAddr[] {
  const unique = new Map<string, UdpAddr>();
  for (const a of addrs) unique.set(addrKey(a), a);
  return [...unique.values()]
    .map((a) => ({ a, r: rank(a, preferred) }))
    .sort((x, y) => {
      for (let i = 0; i < x.r.length; i++) if (x.r[i] !== y.r[i]) return x.r[i] - y.r[i];
      if (x.a.address !== y.a.address) return compareAddress(x.a.address, y.a.address);
      return x.a.port - y.a.port;
    })
    .map((x) => x.a);
}

function compareAddress(a: string, b: string): number {
  if (!isIpv6Literal(a) && !isIpv6Literal(b)) return parseIpv4(a) - parseIpv4(b);
  const x = ipv6ToBigInt(a);
  const y = ipv6ToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
