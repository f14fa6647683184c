// Our overlay networks and a host's overlay addresses, as the lighthouse and relay code needs them (docs/ipv6.md):
// a host with a v2 certificate may have several addresses of both families; the tunnel's primary address
// (`HostInfo.vpnIp`) is the first of them (`HostInfo.vpnAddrs`), as Nebula 1.10's vpnAddrs[0].

import { dottedQuad } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import { inNetworks } from '../handshake/peer-addrs.js';
import { parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { isIpv6Literal, type UdpAddr } from '../udp/addr.js';

/** What we read of a tunnel: its primary address and all its usable ones (primary first). */
export interface AddressedHost {
  readonly vpnIp: VpnIp;
  readonly vpnAddrs?: readonly VpnIp[];
}

/** All of a tunnel's overlay addresses, primary first (a tunnel built before it had several: just the primary). */
export function addrsOf(host: AddressedHost): readonly VpnIp[] {
  return host.vpnAddrs && host.vpnAddrs.length > 0 ? host.vpnAddrs : [host.vpnIp];
}

/** Whether `v` is one of `host`'s overlay addresses. */
export function isAddrOf(host: AddressedHost, v: VpnIp): boolean {
  return host.vpnIp === v || addrsOf(host).includes(v);
}

/** The first IPv4 address of `addrs`: what a v1 message (uint32 fields) can name. */
export function firstIpv4(addrs: readonly VpnIp[]): number | undefined {
  for (const a of addrs) if (typeof a === 'number') return a;
  return undefined;
}

// One implementation for every package (the handshake's, allocation-light on the data path).
export { inNetworks };

/**
 * Whether an underlay address lies inside one of our overlay networks: never a way to reach a host (it would route
 * into the tunnel itself), so Nebula's lighthouse refuses such reported addresses (myVpnNetworksTable).
 */
export function underlayInNetworks(a: UdpAddr, networks: readonly IpPrefix[]): boolean {
  // Judged on every reported address of every host update: a plain dotted quad (what decodeMeta writes) is read
  // without a regular expression or a substring; anything else goes the general way.
  const dotted = dottedQuad(a.address);
  if (dotted >= 0) return inNetworks(dotted, networks);
  // IPv4 networks only (the common case) hold no IPv6 address, and an IPv6 literal is read as IPv4 only in the
  // IPv4-mapped form, whose ffff hextet is spelled with four f's: without one it is outside, unparsed.
  if (isIpv6Literal(a.address) && !hasIpv6Network(networks) && !hasFourFs(a.address)) return false;
  let v: VpnIp;
  try {
    v = parseVpnIp(a.address);
  } catch {
    return false; // a scoped or otherwise non-plain literal is no overlay address
  }
  return inNetworks(v, networks);
}

function hasIpv6Network(networks: readonly IpPrefix[]): boolean {
  for (const n of networks) if (n.addr.family === 6) return true;
  return false;
}

/** Whether `text` has four f's (either case) in a row. */
function hasFourFs(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) | 0x20; // lower case for letters
    run = c === 0x66 ? run + 1 : 0;
    if (run === 4) return true;
  }
  return false;
}
