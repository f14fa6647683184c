// Which of a peer certificate's addresses a tunnel answers for (docs/ipv6-A.md, "Handshake address rules"):
//
//   1. self    a certificate claiming one of our own addresses is refused outright (Nebula 1.10/1.11: "Refusing to
//              handshake with myself"), whatever else it holds
//   2. usable  the addresses inside one of our networks, certificate order; the first is the tunnel's primary
//   3. none    no usable address left: refused. Nebula 1.10/1.11 keeps such a tunnel (it logs "no vpnNetworks in
//              common") and indexes it under all the certificate's addresses; mesh refuses it, so that a tunnel is
//              only ever reachable by addresses our TUN routes to it (a difference, docs/ipv6-A.md)

import type { IpPrefix } from '../ip/prefix.js';
import { vpnIpInPrefix, type VpnIp } from '../ip/vpn-ip.js';

export type PeerAddrsVerdict =
  | { readonly ok: true; readonly vpnAddrs: readonly VpnIp[] }
  | { readonly ok: false; readonly reason: 'self' | 'no-usable-address' };

/** Whether `addr` is inside one of `networks` (an IPv4 address never matches an IPv6 network, nor the reverse). */
export function inNetworks(addr: VpnIp, networks: readonly IpPrefix[]): boolean {
  for (const n of networks) if (vpnIpInPrefix(addr, n)) return true;
  return false;
}

/** Applies the rules above to a verified certificate's addresses (`certAddrs`, certificate order). */
export function usablePeerAddrs(certAddrs: readonly VpnIp[], ours: { readonly vpnAddrs: readonly VpnIp[]; readonly vpnNetworks: readonly IpPrefix[] }): PeerAddrsVerdict {
  for (const a of certAddrs) if (ours.vpnAddrs.includes(a)) return { ok: false, reason: 'self' };
  const usable = certAddrs.filter((a) => inNetworks(a, ours.vpnNetworks));
  if (usable.length === 0) return { ok: false, reason: 'no-usable-address' };
  return { ok: true, vpnAddrs: usable.length === certAddrs.length ? certAddrs : usable };
}
