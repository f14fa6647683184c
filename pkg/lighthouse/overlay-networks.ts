// Our overlay networks and a host's overlay addresses, as the lighthouse and relay code needs them (docs/ipv6.md):
// a host with a v2 certificate may have several addresses of both families; the tunnel's primary address
// (`HostInfo.vpnIp`) is the first of them (`HostInfo.vpnAddrs`), as Nebula 1.10's vpnAddrs[0].

import type { IpPrefix } from '../ip/prefix.js';
import { inNetworks } from '../handshake/peer-addrs.js';
import { parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import type { UdpAddr } from '../udp/addr.js';

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
  let v: VpnIp;
  try {
    v = parseVpnIp(a.address);
  } catch {
    return false; // a scoped or otherwise non-plain literal is no overlay address
  }
  return inNetworks(v, networks);
}
