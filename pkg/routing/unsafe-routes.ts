// The unsafe routes a packet from the TUN may take: longest prefix first, each with its ECMP gateways (ecmp.ts).
// Those of the config, and with tun.use_system_route_table those learned from the kernel (system-routes.ts): the
// most specific of both wins, a learned route over a configured one of the same prefix (as in Nebula 1.7+).

import { netContains, parseCidr, parseIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
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

export class UnsafeRouteTable {
  private readonly entries: Entry[];
  /** Reused by every lookup: one packet at a time. */
  private readonly scratch = newFirewallPacket();

  constructor(routes: readonly UnsafeRouteSpec[], private readonly learned: SystemRouteTable | null = null) {
    this.entries = routes
      .map((r) => ({ route: parseCidr(r.route), gateways: bucketGateways(r.via.map((g) => ({ vpnIp: parseIpv4(g.gateway), weight: g.weight }))) }))
      .sort((a, b) => Math.clz32(~b.route.mask) - Math.clz32(~a.route.mask));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The gateways of the most specific route holding `dst`, or null. */
  gatewaysFor(dst: Ipv4): readonly Gateway[] | null {
    const learned = this.learned?.match(dst) ?? null;
    for (const e of this.entries) {
      if (!netContains(e.route, dst)) continue;
      if (learned !== null && learned.prefixLen >= Math.clz32(~e.route.mask)) return learned.gateways;
      return e.gateways;
    }
    return learned?.gateways ?? null;
  }

  /**
   * The VPN address to send `packet` (an IPv4 packet read from the TUN, destined to `dst`) to, or null when no
   * unsafe route holds `dst`. `tunnelUp` says whether a tunnel to a gateway is established.
   */
  gatewayFor(dst: Ipv4, packet: Uint8Array | undefined, tunnelUp: (vpnIp: Ipv4) => boolean): Ipv4 | null {
    const gateways = this.gatewaysFor(dst);
    if (gateways === null) return null;
    if (gateways.length === 1) return gateways[0].vpnIp;
    let hash = flowPortsHash(0, 0);
    if (packet !== undefined && parseIpv4Packet(packet, false, this.scratch) === null) {
      hash = flowPortsHash(this.scratch.localPort, this.scratch.remotePort);
    }
    return pickGateway(gateways, hash, tunnelUp);
  }
}
