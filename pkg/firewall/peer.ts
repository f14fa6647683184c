// What the firewall needs to know about the host at the other end of a tunnel, taken from its certificate
// once per tunnel so the hot path does no certificate work. Addresses of both families (docs/ipv6.md):
// IPv4 sources are checked against `vpnIp`/`allowedNets` exactly as before IPv6, IPv6 sources against
// `allowedNets6`, so an IPv4 packet never looks at IPv6 data and the reverse.

import type { Ipv4, Ipv4Net } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import { net6OfPrefix, net6OfVpnIp, type Net6 } from './net6.js';

export interface FirewallPeer {
  /** The tunnel's primary VPN address (its first usable one): what conntrack charges the peer's flows to. */
  vpnIp: VpnIp;
  /** All the peer's VPN addresses kept by the handshake (certificate order); informational here. */
  vpnAddrs?: readonly VpnIp[];
  /** Certificate Name, matched by `host`. */
  name: string;
  /** Certificate Groups, matched by `group`/`groups`. */
  groups: ReadonlySet<string>;
  /** Certificate Issuer: the signing CA's fingerprint in lowercase hex, matched by `ca_sha`. */
  issuer: string;
  /** Name of the signing CA found in our pool ('' if none), matched by `ca_name`. */
  caName: string;
  /**
   * The IPv4 sources the peer may use: its IPv4 VPN addresses as /32 plus its IPv4 unsafe networks. Empty when
   * `singleIp`, where `vpnIp` says it all (one array and net object less for most tunnels).
   */
  allowedNets: readonly Ipv4Net[];
  /**
   * The peer's only IPv4 source is `vpnIp` (a number): one IPv4 address and no IPv4 unsafe network. Then an
   * IPv4 packet's remote address must equal `vpnIp` (Nebula's fast path).
   */
  singleIp: boolean;
  /** The IPv6 sources the peer may use: its IPv6 VPN addresses as /128 plus its IPv6 unsafe networks. */
  allowedNets6?: readonly Net6[];
}

/** The address fields of a FirewallPeer, as the firewall expects them, built once per tunnel. */
export type FirewallPeerAddresses = Pick<
  FirewallPeer,
  'vpnIp' | 'vpnAddrs' | 'allowedNets' | 'singleIp' | 'allowedNets6'
>;

const NO_NETS: readonly Ipv4Net[] = [];
const NO_NETS6: readonly Net6[] = [];

/**
 * From the peer's VPN addresses (those the handshake kept, certificate order, at least one; the first is the
 * primary) and its certificate's unsafe networks of both families.
 */
export function firewallPeerAddresses(
  vpnAddrs: readonly VpnIp[],
  unsafeNetworks: readonly IpPrefix[] = [],
): FirewallPeerAddresses {
  if (vpnAddrs.length === 0) throw new RangeError('a firewall peer needs at least one VPN address');
  const v4 = vpnAddrs.filter((a): a is Ipv4 => typeof a === 'number');
  const unsafe4: Ipv4Net[] = [];
  const nets6: Net6[] = [];
  for (const a of vpnAddrs) {
    const n = net6OfVpnIp(a);
    if (n !== null) nets6.push(n);
  }
  for (const p of unsafeNetworks) {
    const n = net6OfPrefix(p);
    if (n !== null) nets6.push(n);
    else unsafe4.push(ipv4NetOf(p));
  }
  const vpnIp = vpnAddrs[0];
  const singleIp = typeof vpnIp === 'number' && v4.length === 1 && unsafe4.length === 0;
  return {
    vpnIp,
    vpnAddrs: vpnAddrs.slice(),
    allowedNets: singleIp ? NO_NETS : [...v4.map((ip) => ({ ip, mask: 0xffffffff })), ...unsafe4],
    singleIp,
    allowedNets6: nets6.length === 0 ? NO_NETS6 : nets6,
  };
}

/** An IPv4 IpPrefix as the mask form the IPv4 code uses (host bits cleared, as the certificate's subnets are). */
export function ipv4NetOf(p: IpPrefix): Ipv4Net {
  const b = p.addr.bytes;
  const mask = p.bits === 0 ? 0 : (0xffffffff << (32 - p.bits)) >>> 0;
  const ip = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  return { ip: (ip & mask) >>> 0, mask };
}
