// The firewall on the data path: every packet leaving through a tunnel (outbound, before encryption) and
// every packet arriving from one (inbound, after decryption) is judged here.
//
//   1. Parse the IPv4 or IPv6 header (the version nibble decides) into a reused record, local orientation
//                                       -> short-packet, not-ipv4, bad-header, bad-extension-header
//   2. The remote inner address must be one the peer's cert covers     -> remote-not-in-cert
//   3. Conntrack hit (not expired): allow and refresh the expiry. An entry made under older rules is first
//      re-checked, once, against the current table of the direction that created it; if that fails the
//      entry is dropped and the packet is judged as new.
//   4. The local inner address must be ours (cert IPs or subnets)      -> local-not-ours
//   5. Rule lookup in the inbound or outbound table                    -> no-rule
//      (a rule without local_cidr covers only our VPN addresses when our cert has unsafe networks, Nebula 1.10+)
//   6. Room in conntrack (see admit below)                -> conntrack-host-quota, conntrack-full
//   7. Record the flow and allow.
//
// Room in conntrack is shared fairly (docs/security-model.md): a peer may hold at most max_connections_per_host
// flows it opened toward us; at that quota its oldest flow we never answered makes way for its new one (never
// another peer's flow), and with none to give up its new flow is refused. Flows peers open may fill only
// three quarters of max_connections, so flows this node opens always find room in the last quarter.
//
// Nebula 1.6.1 looks in conntrack before checking the remote address, so a host could slip packets into
// another host's flow by spoofing its address; checking first closes that without changing what honest
// peers see. Expiry is lazy (on lookup) plus `sweep()`, which the daemon calls periodically: no timers here.
//
// IPv6 (docs/ipv6.md): the same stages on the same record; addresses are checked against the IPv6 networks
// of the peer and of our certificate, flows live in a sibling conntrack table of the same kind, and the
// per-peer quota and the shares count the flows of both tables together.

import type { Clock } from '../clock/clock.js';
import { netContains, type Ipv4Net } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import { PROTO_TCP, PROTO_UDP } from './constants.js';
import { ConntrackTable } from './conntrack-table.js';
import { DROP_REASONS, type DropReason } from './drop-reason.js';
import { anyNet6Contains, net6, type Net6 } from './net6.js';
import { newFirewallPacket, parseIpv4Packet, type FirewallPacket } from './packet.js';
import { parseIpv6Packet } from './packet-ipv6.js';
import { ipv4NetOf, type FirewallPeer } from './peer.js';
import { buildRejectReply } from './reject.js';
import type { FirewallAction, FirewallRules } from './rules.js';

export type { FirewallPeer, FirewallPeerAddresses } from './peer.js';
export { firewallPeerAddresses } from './peer.js';
export type { Net6 } from './net6.js';
export type { DropReason } from './drop-reason.js';
export type { FirewallAction, FirewallRules, FirewallSection, ConntrackSettings } from './rules.js';
export { parseFirewallRules, type RuleContext } from './rules.js';
export { FirewallConfigError } from './config-error.js';
export { parseIpv4Packet, newFirewallPacket, type FirewallPacket } from './packet.js';
export { parseIpv6Packet } from './packet-ipv6.js';
export { parseFirewallPacket, packetLocalAddr, packetRemoteAddr } from './packet-any.js';

export interface FirewallOptions extends FirewallNetworks {
  clock: Clock;
}

/**
 * Which local addresses are ours, from our certificate(s); replaced when a reload brings another certificate.
 * Either the IPv4-only form (localNets, assignedNets, unsafeNets) or, for both families, `vpnNetworks` and
 * `unsafeNetworks`; given both, the IPv4 fields decide for IPv4 and the prefixes' IPv6 entries for IPv6.
 */
export interface FirewallNetworks {
  /** Our certificate's IPs as /32 plus its Subnets: the local IPv4 addresses we handle. Default: from vpnNetworks. */
  localNets?: Ipv4Net[];
  /** Our VPN networks (the certificate's IPs with their prefix). Default: the /32 entries of localNets. */
  assignedNets?: Ipv4Net[];
  /** The certificate's unsafe networks (Subnets). Default: the entries of localNets that are not /32. */
  unsafeNets?: Ipv4Net[];
  /** Every network of our certificate(s), both families, address with prefix (the node's vpnNetworks). */
  vpnNetworks?: readonly IpPrefix[];
  /** The unsafe networks of our certificate(s), both families. */
  unsafeNetworks?: readonly IpPrefix[];
}

// Entries remember their rules version in 31 bits; on wrap-around conntrack is cleared, as Nebula does.
const MAX_RULES_VERSION = 0x7fffffff;

export class Firewall {
  private rules: FirewallRules;
  private rulesVersion = 0;
  private readonly clock: Clock;
  private localNets: Ipv4Net[] = [];
  private assignedNets: Ipv4Net[] = [];
  /** Our IPv6 addresses as /128 plus our IPv6 unsafe networks. */
  private localNets6: Net6[] = [];
  /** Our IPv6 VPN networks with their prefix: what a rule without local_cidr covers when we have unsafe networks. */
  private assignedNets6: Net6[] = [];
  private hasUnsafeNets = false;
  private readonly conntrack = new ConntrackTable();
  private readonly conntrack6 = new ConntrackTable(undefined, 6);
  private readonly packet: FirewallPacket = newFirewallPacket();
  /** Packets refused so far, by reason (both directions). */
  readonly dropCounts = new Map<DropReason, number>(DROP_REASONS.map((reason) => [reason, 0]));
  /** Unanswered flows forgotten to make way for a new flow of the same peer. */
  evictedFlows = 0;

  constructor(rules: FirewallRules, opts: FirewallOptions) {
    this.rules = rules;
    this.clock = opts.clock;
    this.setLocalNetworks(opts);
  }

  /**
   * Our addresses, from the certificate (a reload may bring one with other unsafe networks, as Nebula 1.11 reloads
   * them). Flows keep their conntrack entries; a new packet is judged against the new networks.
   */
  setLocalNetworks(nets: FirewallNetworks): void {
    const vpn = nets.vpnNetworks ?? [];
    const unsafe = nets.unsafeNetworks ?? [];
    const vpn4 = vpn.filter((p) => p.addr.family === 4);
    const unsafe4 = unsafe.filter((p) => p.addr.family === 4).map(ipv4NetOf);
    const localNets = nets.localNets ?? [
      ...vpn4.map((p) => ({ ip: ipv4NetOf({ addr: p.addr, bits: 32 }).ip, mask: 0xffffffff })),
      ...unsafe4,
    ];
    this.localNets = localNets.slice();
    this.assignedNets = (
      nets.assignedNets ?? (nets.localNets ? localNets.filter((n) => n.mask === 0xffffffff) : vpn4.map(ipv4NetOf))
    ).slice();
    const hasUnsafe4 =
      (nets.unsafeNets ?? (nets.localNets ? localNets.filter((n) => n.mask !== 0xffffffff) : unsafe4)).length > 0;
    const vpn6 = vpn.filter((p) => p.addr.family === 6);
    const unsafe6 = unsafe.filter((p) => p.addr.family === 6);
    this.localNets6 = [...vpn6.map((p) => net6(p.addr.bytes, 128)), ...unsafe6.map((p) => net6(p.addr.bytes, p.bits))];
    this.assignedNets6 = vpn6.map((p) => net6(p.addr.bytes, p.bits));
    // Nebula 1.10+: any unsafe network, of either family, narrows rules without local_cidr to our VPN networks.
    this.hasUnsafeNets = hasUnsafe4 || unsafe6.length > 0;
  }

  get conntrackSize(): number {
    return this.conntrack.size + this.conntrack6.size;
  }

  get currentRules(): FirewallRules {
    return this.rules;
  }

  /**
   * null = allow. `incoming` = the packet came out of a tunnel from `peer`; otherwise it goes into one to `peer`.
   * `now` is the time its flow is judged and refreshed at: the data path passes its batch's time (read once per
   * received batch or TUN read, docs/state-machines.md "Data path time"); other callers get the clock's.
   */
  filter(packet: Uint8Array, incoming: boolean, peer: FirewallPeer, now?: number): DropReason | null {
    const p = this.packet;
    // The version nibble decides; everything but 6 is judged as IPv4 was before IPv6 (short-packet, not-ipv4).
    if (packet.length > 0 && packet[0] >>> 4 === 6) return this.filter6(packet, incoming, peer, now);
    const malformed = parseIpv4Packet(packet, incoming, p);
    if (malformed !== null) return this.drop(malformed);
    if (!remoteAllowed(p.remoteIp, peer)) return this.drop('remote-not-in-cert');

    now ??= this.clock.now();
    if (this.established(p, incoming, peer, now)) return null;

    if (!this.isLocal(p.localIp)) return this.drop('local-not-ours');
    const table = incoming ? this.rules.inbound : this.rules.outbound;
    if (!table.matches(p, incoming, peer, this.defaultLocal(p))) return this.drop('no-rule');
    const full = this.admit(this.conntrack, incoming, peer.vpnIp, now);
    if (full !== null) return this.drop(full);
    this.conntrack.insert(p, now + this.timeoutFor(p.protocol), incoming, this.rulesVersion, peer.vpnIp);
    return null;
  }

  /** The same stages for an IPv6 packet. */
  private filter6(packet: Uint8Array, incoming: boolean, peer: FirewallPeer, now?: number): DropReason | null {
    const p = this.packet;
    const malformed = parseIpv6Packet(packet, incoming, p);
    if (malformed !== null) return this.drop(malformed);
    if (peer.allowedNets6 === undefined || !anyNet6Contains(peer.allowedNets6, p.remote6!))
      return this.drop('remote-not-in-cert');

    now ??= this.clock.now();
    const ct = this.conntrack6;
    if (this.established6(p, incoming, peer, now)) return null;

    if (!anyNet6Contains(this.localNets6, p.local6!)) return this.drop('local-not-ours');
    const table = incoming ? this.rules.inbound : this.rules.outbound;
    if (!table.matches(p, incoming, peer, this.defaultLocal(p))) return this.drop('no-rule');
    const full = this.admit(ct, incoming, peer.vpnIp, now);
    if (full !== null) return this.drop(full);
    ct.insert(p, now + this.timeoutFor(p.protocol), incoming, this.rulesVersion, peer.vpnIp);
    return null;
  }

  /** Swaps in a new rule set at once. Flows are kept; each is re-checked against it on its next packet. */
  replaceRules(rules: FirewallRules): void {
    this.rules = rules;
    if (++this.rulesVersion > MAX_RULES_VERSION) {
      this.rulesVersion = 0;
      this.conntrack.clear();
      this.conntrack6.clear();
    }
  }

  /** Forgets expired flows. Lookups already ignore them; this returns their memory. */
  sweep(): void {
    const now = this.clock.now();
    this.conntrack.sweep(now);
    this.conntrack6.sweep(now);
  }

  actionFor(incoming: boolean): FirewallAction {
    return incoming ? this.rules.inboundAction : this.rules.outboundAction;
  }

  /**
   * For action reject: a TCP RST or ICMP (ICMPv6 for IPv6) unreachable addressed to `packet`'s source, or null
   * when no reply is due (fragments, RSTs, ICMP errors, broadcast/multicast, unparsable). Send it back where the packet
   * came from: into the tunnel for an incoming packet, to the tun device for an outgoing one.
   */
  rejectReply(packet: Uint8Array, _incoming: boolean): Uint8Array | null {
    return buildRejectReply(packet);
  }

  /** An IPv4 packet of a live flow: allow it and refresh the flow (re-checked first after a reload). */
  private established(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, now: number): boolean {
    const ct = this.conntrack;
    const slot = ct.find4(p);
    return slot >= 0 && this.keepFlow(ct, slot, p, incoming, peer, now);
  }

  // A sibling of established, not a family argument to it: with the table passed in, V8 compiled the IPv4 path
  // about 20 ns per packet slower (best-of-30 A/B, docs/ipv6.md).
  private established6(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, now: number): boolean {
    const ct = this.conntrack6;
    const slot = ct.find6(p);
    return slot >= 0 && this.keepFlow(ct, slot, p, incoming, peer, now);
  }

  private keepFlow(
    ct: ConntrackTable,
    slot: number,
    p: FirewallPacket,
    incoming: boolean,
    peer: FirewallPeer,
    now: number,
  ): boolean {
    if (ct.expiresAt(slot) <= now) {
      ct.removeAt(slot);
      return false;
    }
    if (ct.rulesVersionAt(slot) !== this.rulesVersion) {
      const createdIncoming = ct.incomingAt(slot);
      const table = createdIncoming ? this.rules.inbound : this.rules.outbound;
      if (!table.matches(p, createdIncoming, peer, this.defaultLocal(p))) {
        ct.removeAt(slot);
        return false;
      }
      ct.setRulesVersion(slot, this.rulesVersion);
    }
    ct.refresh(slot, now + this.timeoutFor(p.protocol));
    // Only flows peers opened toward us are listed as unanswered, so only our outbound packet can answer one.
    if (!incoming) ct.markAnswered(slot);
    return true;
  }

  /**
   * null when a new flow for the tunnel to `owner` may be recorded in `ct` (the table of the packet's family),
   * after making room if need be; else why not. Quota and shares count both tables.
   */
  private admit(ct: ConntrackTable, incoming: boolean, owner: VpnIp, now: number): DropReason | null {
    const { maxConnections: max, maxConnectionsPerHost: quota } = this.rules.conntrack;
    if (!incoming) {
      if (max !== 0 && this.conntrackSize >= max) this.reclaimExpired(now);
      return max !== 0 && this.conntrackSize >= max ? 'conntrack-full' : null;
    }
    if (quota !== 0 && this.inboundFlowsOf(owner) >= quota) {
      // A loop, not one eviction: after a reload lowered the quota the peer may hold more than it.
      while (this.inboundFlowsOf(owner) >= quota && this.evictOldestUnanswered(ct, owner));
      if (this.inboundFlowsOf(owner) >= quota) this.reclaimExpired(now);
      if (this.inboundFlowsOf(owner) >= quota) return 'conntrack-host-quota';
    }
    if (this.peersShareFull(max)) {
      this.reclaimExpired(now);
      if (this.peersShareFull(max) && !this.evictOldestUnanswered(ct, owner)) return 'conntrack-full';
    }
    return null;
  }

  private inboundFlowsOf(owner: VpnIp): number {
    return this.conntrack.inboundFlowsOf(owner) + this.conntrack6.inboundFlowsOf(owner);
  }

  private peersShareFull(max: number): boolean {
    if (max === 0) return false;
    const inbound = this.conntrack.inboundSize + this.conntrack6.inboundSize;
    return inbound >= inboundShare(max) || this.conntrackSize >= max;
  }

  /**
   * Forgets `owner`'s oldest unanswered flow, from `first` (the new flow's family) if it has one there, else from
   * the other table: oldest within a family, which is all a per-peer bound needs.
   */
  private evictOldestUnanswered(first: ConntrackTable, owner: VpnIp): boolean {
    const second = first === this.conntrack ? this.conntrack6 : this.conntrack;
    return this.evictFrom(first, owner) || this.evictFrom(second, owner);
  }

  private evictFrom(ct: ConntrackTable, owner: VpnIp): boolean {
    const slot = ct.oldestUnansweredOf(owner);
    if (slot < 0) return false;
    ct.removeAt(slot);
    this.evictedFlows++;
    return true;
  }

  /** A sweep reads the whole table: only when some flow has expired. */
  private reclaimExpired(now: number): void {
    if (now >= this.conntrack.earliestExpiry) this.conntrack.sweep(now);
    if (now >= this.conntrack6.earliestExpiry) this.conntrack6.sweep(now);
  }

  /** Whether rules without local_cidr cover the packet's local address (Nebula 1.10+; see MatchTarget). */
  private defaultLocal(p: FirewallPacket): boolean {
    if (!this.hasUnsafeNets || this.rules.defaultLocalCidrAny) return true;
    if (p.ipv6) return anyNet6Contains(this.assignedNets6, p.local6!);
    for (const net of this.assignedNets) if (netContains(net, p.localIp)) return true;
    return false;
  }

  private isLocal(ip: number): boolean {
    for (const net of this.localNets) if (netContains(net, ip)) return true;
    return false;
  }

  private timeoutFor(protocol: number): number {
    const c = this.rules.conntrack;
    return protocol === PROTO_TCP ? c.tcpTimeoutMs : protocol === PROTO_UDP ? c.udpTimeoutMs : c.defaultTimeoutMs;
  }

  private drop(reason: DropReason): DropReason {
    this.dropCounts.set(reason, (this.dropCounts.get(reason) ?? 0) + 1);
    return reason;
  }
}

/** How many of max_connections flows opened by peers may fill; the rest is kept for flows this node opens. */
function inboundShare(max: number): number {
  return max - Math.floor(max / 4);
}

function remoteAllowed(ip: number, peer: FirewallPeer): boolean {
  if (peer.singleIp) return ip === peer.vpnIp;
  for (const net of peer.allowedNets) if (netContains(net, ip)) return true;
  return false;
}
