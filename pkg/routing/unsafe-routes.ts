// The unsafe routes a packet from the TUN may take: longest prefix first, each with its ECMP gateways (ecmp.ts).
// Those of the config, and with tun.use_system_route_table those learned from the kernel (system-routes.ts): the
// most specific of both wins, a learned route over a configured one of the same prefix (as in Nebula 1.7+).
// IPv6 routes (Nebula 1.10+, v2 certificates) live in a table of their own, looked up only for IPv6 destinations;
// a gateway of either family is an overlay address (docs/ipv6.md). Routes learned from the kernel come in both
// families too, and combine with the config's the same way.

import { netContains, parseCidr, type Ipv4Net } from '../ip/ipv4.js';
import { parseIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { parseVpnIp, vpnIpInPrefix, type VpnIp } from '../ip/vpn-ip.js';
import { newFirewallPacket, parseIpv4Packet } from '../firewall/packet.js';
import { bucketGateways, flowPortsHash, pickGateway, type Gateway } from './ecmp.js';
import type { SystemRouteTable } from './system-routes.js';

export interface UnsafeRouteSpec {
  route: string;
  via: readonly { gateway: string; weight: number }[];
}

interface Entry {
  route: Ipv4Net;
  gateways: Gateway[];
}

interface Entry6 {
  route: IpPrefix;
  gateways: Gateway[];
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPV6_HEADER_LEN = 40;

/**
 * The ECMP hash of an IPv6 packet: its ports when TCP or UDP follows the fixed header directly, else the hash of no
 * ports (packets with extension headers all take one gateway, as ICMP does).
 */
function flowHash6(packet: Uint8Array | undefined): number {
  if (packet === undefined || packet.length < IPV6_HEADER_LEN + 4) return flowPortsHash(0, 0);
  const next = packet[6];
  if (next !== IPPROTO_TCP && next !== IPPROTO_UDP) return flowPortsHash(0, 0);
  const o = IPV6_HEADER_LEN;
  return flowPortsHash((packet[o] << 8) | packet[o + 1], (packet[o + 2] << 8) | packet[o + 3]);
}

export class UnsafeRouteTable {
  private readonly entries: Entry[];
  private readonly entries6: Entry6[];
  /** Reused by every lookup: one packet at a time. */
  private readonly scratch = newFirewallPacket();

  constructor(
    routes: readonly UnsafeRouteSpec[],
    private readonly learned: SystemRouteTable | null = null,
  ) {
    const gatewaysOf = (r: UnsafeRouteSpec): Gateway[] =>
      bucketGateways(r.via.map((g) => ({ vpnIp: parseVpnIp(g.gateway), weight: g.weight })));
    const v6 = (r: UnsafeRouteSpec): boolean => r.route.includes(':');
    this.entries = routes
      .filter((r) => !v6(r))
      .map((r) => ({ route: parseCidr(r.route), gateways: gatewaysOf(r) }))
      .sort((a, b) => Math.clz32(~b.route.mask) - Math.clz32(~a.route.mask));
    this.entries6 = routes
      .filter(v6)
      .map((r) => ({ route: parseIpPrefix(r.route), gateways: gatewaysOf(r) }))
      .sort((a, b) => b.route.bits - a.route.bits);
  }

  get size(): number {
    return this.entries.length + this.entries6.length;
  }

  /** The gateways of the most specific route holding `dst`, or null. */
  gatewaysFor(dst: VpnIp): readonly Gateway[] | null {
    if (typeof dst === 'string') return this.gatewaysFor6(dst);
    const learned = this.learned?.match(dst) ?? null;
    for (const e of this.entries) {
      if (!netContains(e.route, dst)) continue;
      if (learned !== null && learned.prefixLen >= Math.clz32(~e.route.mask)) return learned.gateways;
      return e.gateways;
    }
    return learned?.gateways ?? null;
  }

  /**
   * The last IPv6 destination looked up and its answer: a burst is one flow, and the lookup parses the text. Kept
   * while the learned table's version is the one it was answered under.
   */
  private last6: { dst: string; learnedVersion: number; gateways: readonly Gateway[] | null } | null = null;

  private gatewaysFor6(dst: string): readonly Gateway[] | null {
    if (this.entries6.length === 0 && this.learned === null) return null;
    const learnedVersion = this.learned?.version ?? 0;
    const last = this.last6;
    if (last !== null && last.dst === dst && last.learnedVersion === learnedVersion) return last.gateways;
    const learned = this.learned?.match6(dst) ?? null;
    const configured = this.entries6.find((e) => vpnIpInPrefix(dst, e.route)) ?? null;
    const gateways =
      learned !== null && (configured === null || learned.prefixLen >= configured.route.bits)
        ? learned.gateways
        : (configured?.gateways ?? null);
    this.last6 = { dst, learnedVersion, gateways };
    return gateways;
  }

  /**
   * The VPN address to send `packet` (an IP packet read from the TUN, destined to `dst`) to, or null when no
   * unsafe route holds `dst`. `tunnelUp` says whether a tunnel to a gateway is established.
   */
  gatewayFor(dst: VpnIp, packet: Uint8Array | undefined, tunnelUp: (vpnIp: VpnIp) => boolean): VpnIp | null {
    const gateways = this.gatewaysFor(dst);
    if (gateways === null) return null;
    if (gateways.length === 1) return gateways[0].vpnIp;
    if (typeof dst === 'string') return pickGateway(gateways, flowHash6(packet), tunnelUp);
    let hash = flowPortsHash(0, 0);
    if (packet !== undefined && parseIpv4Packet(packet, false, this.scratch) === null) {
      hash = flowPortsHash(this.scratch.localPort, this.scratch.remotePort);
    }
    return pickGateway(gateways, hash, tunnelUp);
  }
}
