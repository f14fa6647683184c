// The firewall on the data path: every packet leaving through a tunnel (outbound, before encryption) and
// every packet arriving from one (inbound, after decryption) is judged here.
//
//   1. Parse the IPv4 header into a reused record, local orientation    -> short-packet, not-ipv4, bad-header
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

import type { Clock } from '../clock/clock.js';
import { netContains, type Ipv4Net } from '../ip/ipv4.js';
import { PROTO_TCP, PROTO_UDP } from './constants.js';
import { ConntrackTable } from './conntrack-table.js';
import { DROP_REASONS, type DropReason } from './drop-reason.js';
import { newFirewallPacket, parseIpv4Packet, type FirewallPacket } from './packet.js';
import type { FirewallPeer } from './peer.js';
import { buildRejectReply } from './reject.js';
import type { FirewallAction, FirewallRules } from './rules.js';

export type { FirewallPeer } from './peer.js';
export type { DropReason } from './drop-reason.js';
export type { FirewallAction, FirewallRules, FirewallSection, ConntrackSettings } from './rules.js';
export { parseFirewallRules, type RuleContext } from './rules.js';
export { FirewallConfigError } from './config-error.js';
export { parseIpv4Packet, newFirewallPacket, type FirewallPacket } from './packet.js';

export interface FirewallOptions extends FirewallNetworks {
  clock: Clock;
}

/** Which local addresses are ours, from our certificate; replaced when a reload brings another certificate. */
export interface FirewallNetworks {
  /** Our certificate's IPs as /32 plus its Subnets: the local addresses we handle. */
  localNets: Ipv4Net[];
  /** Our VPN networks (the certificate's IPs with their prefix). Default: the /32 entries of localNets. */
  assignedNets?: Ipv4Net[];
  /** The certificate's unsafe networks (Subnets). Default: the entries of localNets that are not /32. */
  unsafeNets?: Ipv4Net[];
}

// Entries remember their rules version in 31 bits; on wrap-around conntrack is cleared, as Nebula does.
const MAX_RULES_VERSION = 0x7fffffff;

export class Firewall {
  private rules: FirewallRules;
  private rulesVersion = 0;
  private readonly clock: Clock;
  private localNets: Ipv4Net[] = [];
  private assignedNets: Ipv4Net[] = [];
  private hasUnsafeNets = false;
  private readonly conntrack = new ConntrackTable();
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
    this.localNets = nets.localNets.slice();
    this.assignedNets = (nets.assignedNets ?? nets.localNets.filter((n) => n.mask === 0xffffffff)).slice();
    this.hasUnsafeNets = (nets.unsafeNets ?? nets.localNets.filter((n) => n.mask !== 0xffffffff)).length > 0;
  }

  get conntrackSize(): number {
    return this.conntrack.size;
  }

  get currentRules(): FirewallRules {
    return this.rules;
  }

  /** null = allow. `incoming` = the packet came out of a tunnel from `peer`; otherwise it goes into one to `peer`. */
  filter(packet: Uint8Array, incoming: boolean, peer: FirewallPeer): DropReason | null {
    const p = this.packet;
    const malformed = parseIpv4Packet(packet, incoming, p);
    if (malformed !== null) return this.drop(malformed);
    if (!remoteAllowed(p.remoteIp, peer)) return this.drop('remote-not-in-cert');

    const now = this.clock.now();
    if (this.established(p, incoming, peer, now)) return null;

    if (!this.isLocal(p.localIp)) return this.drop('local-not-ours');
    const table = incoming ? this.rules.inbound : this.rules.outbound;
    if (!table.matches(p, incoming, peer, this.defaultLocal(p.localIp))) return this.drop('no-rule');
    const full = this.admit(incoming, peer.vpnIp, now);
    if (full !== null) return this.drop(full);
    this.conntrack.insert(p, now + this.timeoutFor(p.protocol), incoming, this.rulesVersion, peer.vpnIp);
    return null;
  }

  /** Swaps in a new rule set at once. Flows are kept; each is re-checked against it on its next packet. */
  replaceRules(rules: FirewallRules): void {
    this.rules = rules;
    if (++this.rulesVersion > MAX_RULES_VERSION) {
      this.rulesVersion = 0;
      this.conntrack.clear();
    }
  }

  /** Forgets expired flows. Lookups already ignore them; this returns their memory. */
  sweep(): void {
    this.conntrack.sweep(this.clock.now());
  }

  actionFor(incoming: boolean): FirewallAction {
    return incoming ? this.rules.inboundAction : this.rules.outboundAction;
  }

  /**
   * For action reject: a TCP RST or ICMP unreachable addressed to `packet`'s source, or null when no reply
   * is due (fragments, RSTs, ICMP errors, broadcast/multicast, unparsable). Send it back where the packet
   * came from: into the tunnel for an incoming packet, to the tun device for an outgoing one.
   */
  rejectReply(packet: Uint8Array, _incoming: boolean): Uint8Array | null {
    return buildRejectReply(packet);
  }

  private established(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, now: number): boolean {
    const ct = this.conntrack;
    const slot = ct.find(p);
    if (slot < 0) return false;
    if (ct.expiresAt(slot) <= now) {
      ct.removeAt(slot);
      return false;
    }
    if (ct.rulesVersionAt(slot) !== this.rulesVersion) {
      const createdIncoming = ct.incomingAt(slot);
      const table = createdIncoming ? this.rules.inbound : this.rules.outbound;
      if (!table.matches(p, createdIncoming, peer, this.defaultLocal(p.localIp))) {
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

  /** null when a new flow for the tunnel to `owner` may be recorded, after making room if need be; else why not. */
  private admit(incoming: boolean, owner: number, now: number): DropReason | null {
    const { maxConnections: max, maxConnectionsPerHost: quota } = this.rules.conntrack;
    const ct = this.conntrack;
    if (!incoming) {
      if (max !== 0 && ct.size >= max) this.reclaimExpired(now);
      return max !== 0 && ct.size >= max ? 'conntrack-full' : null;
    }
    if (quota !== 0 && ct.inboundFlowsOf(owner) >= quota) {
      // A loop, not one eviction: after a reload lowered the quota the peer may hold more than it.
      while (ct.inboundFlowsOf(owner) >= quota && this.evictOldestUnanswered(owner));
      if (ct.inboundFlowsOf(owner) >= quota) this.reclaimExpired(now);
      if (ct.inboundFlowsOf(owner) >= quota) return 'conntrack-host-quota';
    }
    if (this.peersShareFull(max)) {
      this.reclaimExpired(now);
      if (this.peersShareFull(max) && !this.evictOldestUnanswered(owner)) return 'conntrack-full';
    }
    return null;
  }

  private peersShareFull(max: number): boolean {
    return max !== 0 && (this.conntrack.inboundSize >= inboundShare(max) || this.conntrack.size >= max);
  }

  private evictOldestUnanswered(owner: number): boolean {
    const slot = this.conntrack.oldestUnansweredOf(owner);
    if (slot < 0) return false;
    this.conntrack.removeAt(slot);
    this.evictedFlows++;
    return true;
  }

  /** A sweep reads the whole table: only when some flow has expired. */
  private reclaimExpired(now: number): void {
    if (now >= this.conntrack.earliestExpiry) this.conntrack.sweep(now);
  }

  /** Whether rules without local_cidr cover `localIp` (Nebula 1.10+; see MatchTarget). */
  private defaultLocal(localIp: number): boolean {
    if (!this.hasUnsafeNets || this.rules.defaultLocalCidrAny) return true;
    for (const net of this.assignedNets) if (netContains(net, localIp)) return true;
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
