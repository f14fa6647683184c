// The rule index for one direction (docs/compatibility.md): protocol -> port -> CA bucket -> peer selector.
//
// Nebula expands a port range into one map entry per port. Here each protocol keeps its ranges as sorted,
// disjoint segments, each holding the merged CA buckets of every rule covering it; a lookup is a binary
// search. `any` and `fragment` ports have buckets of their own. The answer is the same as Nebula's: the
// packet matches if any rule of `proto: any` or of its protocol, at its port or at port any, matches.

import {
  PORT_ANY,
  PORT_FRAGMENT,
  PORT_MAX,
  PROTO_ANY,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
} from './constants.js';
import type { FirewallPacket } from './packet.js';
import type { FirewallPeer } from './peer.js';
import type { FirewallRule } from './rule-parse.js';
import { CaBuckets, type MatchTarget } from './selector.js';

class PortIndex {
  private anyPort: CaBuckets | null = null;
  private fragment: CaBuckets | null = null;
  /** Segment k covers ports starts[k]..ends[k] (inclusive); sorted, disjoint, non-empty buckets only. */
  private starts = new Int32Array(0);
  private ends = new Int32Array(0);
  private buckets: CaBuckets[] = [];

  constructor(rules: readonly FirewallRule[]) {
    const ranged: FirewallRule[] = [];
    for (const rule of rules) {
      if (rule.startPort === PORT_ANY) (this.anyPort ??= new CaBuckets()).add(rule);
      else if (rule.startPort === PORT_FRAGMENT) (this.fragment ??= new CaBuckets()).add(rule);
      else if (rule.startPort <= PORT_MAX) ranged.push(rule);
    }
    if (ranged.length > 0) this.buildSegments(ranged);
  }

  /** `port` is the destination port; fragments are looked up under `fragment` instead. */
  matches(port: number, fragment: boolean, t: MatchTarget, peer: FirewallPeer): boolean {
    if (fragment) {
      if (this.fragment?.matches(t, peer)) return true;
    } else if (port !== PORT_ANY && this.starts.length > 0) {
      const bucket = this.segmentAt(port);
      if (bucket?.matches(t, peer)) return true;
    }
    return this.anyPort !== null && this.anyPort.matches(t, peer);
  }

  private segmentAt(port: number): CaBuckets | null {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= port) lo = mid;
      else hi = mid - 1;
    }
    return starts[lo] <= port && port <= this.ends[lo] ? this.buckets[lo] : null;
  }

  /** Sweep over range edges: between two consecutive edges the set of covering rules is constant. */
  private buildSegments(rules: FirewallRule[]): void {
    const opens = new Map<number, FirewallRule[]>();
    const closes = new Map<number, FirewallRule[]>();
    for (const rule of rules) {
      const end = Math.min(rule.endPort, PORT_MAX);
      pushTo(opens, rule.startPort, rule);
      pushTo(closes, end + 1, rule);
    }
    const edges = [...new Set([...opens.keys(), ...closes.keys()])].sort((a, b) => a - b);
    const active = new Set<FirewallRule>();
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < edges.length - 1; i++) {
      for (const rule of closes.get(edges[i]) ?? []) active.delete(rule);
      for (const rule of opens.get(edges[i]) ?? []) active.add(rule);
      if (active.size === 0) continue;
      const bucket = new CaBuckets();
      for (const rule of active) bucket.add(rule);
      starts.push(edges[i]);
      ends.push(edges[i + 1] - 1);
      this.buckets.push(bucket);
    }
    this.starts = Int32Array.from(starts);
    this.ends = Int32Array.from(ends);
  }
}

function pushTo(map: Map<number, FirewallRule[]>, key: number, rule: FirewallRule): void {
  const list = map.get(key);
  if (list) list.push(rule);
  else map.set(key, [rule]);
}

export class RuleTable {
  private readonly anyProto: PortIndex;
  private readonly tcp: PortIndex;
  private readonly udp: PortIndex;
  private readonly icmp: PortIndex;
  /** Reused for every lookup: the hot path allocates nothing. */
  private readonly target: MatchTarget = {
    remoteIp: 0,
    localIp: 0,
    ipv6: false,
    remote6: new Uint32Array(4),
    local6: new Uint32Array(4),
    defaultLocal: true,
  };

  constructor(readonly rules: readonly FirewallRule[]) {
    const of = (proto: number) => new PortIndex(rules.filter((r) => r.proto === proto));
    this.anyProto = of(PROTO_ANY);
    this.tcp = of(PROTO_TCP);
    this.udp = of(PROTO_UDP);
    this.icmp = of(PROTO_ICMP);
  }

  /**
   * Whether a rule allows the packet. `incoming` picks the destination port: local inbound, remote outbound.
   * `defaultLocal`: whether rules without local_cidr cover the packet's local address (MatchTarget).
   */
  matches(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, defaultLocal = true): boolean {
    // ICMPv6 carries its echo identifier in remotePort for conntrack; rules never filter on it (Nebula 1.11).
    const port = p.protocol === PROTO_ICMPV6 && p.ipv6 ? PORT_ANY : incoming ? p.localPort : p.remotePort;
    const t = this.target;
    t.remoteIp = p.remoteIp;
    t.localIp = p.localIp;
    t.defaultLocal = defaultLocal;
    t.ipv6 = p.ipv6 === true;
    if (t.ipv6) {
      t.remote6 = p.remote6!;
      t.local6 = p.local6!;
    }
    if (this.anyProto.matches(port, p.fragment, t, peer)) return true;
    switch (p.protocol) {
      case PROTO_TCP:
        return this.tcp.matches(port, p.fragment, t, peer);
      case PROTO_UDP:
        return this.udp.matches(port, p.fragment, t, peer);
      case PROTO_ICMP:
        return this.icmp.matches(port, p.fragment, t, peer);
      case PROTO_ICMPV6:
        // `proto: icmp` is ICMP of both families (Nebula 1.10+); an ICMPv6 number inside an IPv4 packet is not.
        return p.ipv6 === true && this.icmp.matches(port, p.fragment, t, peer);
      default:
        return false;
    }
  }
}
