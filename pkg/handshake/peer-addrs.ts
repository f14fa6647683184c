// Which of a peer certificate's addresses a tunnel answers for (docs/ipv6.md, "Handshake address rules"), as
// Nebula 1.10.3 and 1.11.1 decide:
//
//   1. self    a certificate claiming one of our own addresses is refused outright ("Refusing to handshake with
//              myself"), whatever else it holds
//   2. all     every address of the certificate, certificate order; the first is the tunnel's primary
//   3. common  whether any of them lies inside one of our networks: only for the log line ("Handshake message
//              received, but no vpnNetworks in common"); such a peer is accepted (a lighthouse or relay in another
//              network, mixed-mask IPv4 networks)

import type { IpPrefix } from '../ip/prefix.js';
import { vpnIpBytes, type VpnIp } from '../ip/vpn-ip.js';

export type PeerAddrsVerdict =
  | { readonly ok: true; readonly vpnAddrs: readonly VpnIp[]; readonly inCommon: boolean }
  | { readonly ok: false; readonly reason: 'self' };

/**
 * Whether `addr` is inside one of `networks` (an IPv4 address never matches an IPv6 network, nor the reverse). On
 * the data path's misses: IPv4 by uint32 arithmetic (no allocation), IPv6 with its bytes made once for all networks.
 * A network of a negative length (a v1 certificate's non-prefix mask, cert-any.ts) contains nothing.
 */
export function inNetworks(addr: VpnIp, networks: readonly IpPrefix[]): boolean {
  if (typeof addr === 'number') {
    for (const n of networks) {
      if (n.addr.family !== 4 || n.bits < 0) continue;
      const b = n.addr.bytes;
      const net = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      const mask = n.bits === 0 ? 0 : (0xffffffff << (32 - n.bits)) >>> 0;
      if ((addr & mask) >>> 0 === (net & mask) >>> 0) return true;
    }
    return false;
  }
  let bytes: Uint8Array | null = null;
  for (const n of networks) {
    if (n.addr.family !== 6 || n.bits < 0) continue;
    bytes ??= vpnIpBytes(addr);
    if (prefixHolds(n, bytes)) return true;
  }
  return false;
}

function prefixHolds(p: IpPrefix, bytes: Uint8Array): boolean {
  let bits = p.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (p.addr.bytes[i] & mask)) return false;
  }
  return true;
}

/** Applies the rules above to a verified certificate's addresses (`certAddrs`, certificate order). */
export function usablePeerAddrs(
  certAddrs: readonly VpnIp[],
  ours: { readonly vpnAddrs: readonly VpnIp[]; readonly vpnNetworks: readonly IpPrefix[] },
): PeerAddrsVerdict {
  for (const a of certAddrs) if (ours.vpnAddrs.includes(a)) return { ok: false, reason: 'self' };
  return { ok: true, vpnAddrs: certAddrs, inCommon: certAddrs.some((a) => inNetworks(a, ours.vpnNetworks)) };
}
