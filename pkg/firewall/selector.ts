// The last two levels of the rule index (docs/compatibility.md): for one direction, protocol and port, the rules
// sorted into CA buckets, and in each bucket who may match (Nebula's FirewallCA and FirewallRule).
//
// A rule with both ca_sha and ca_name is stored under each, so the two are OR'd; within a bucket a peer
// matches if the bucket is "any", or it has every group of one group set, or its Name is listed, or the
// packet's remote address is in a listed CIDR; and each of those carries the local_cidr of the rules that put
// it there, which the packet's local address must satisfy too (Nebula 1.7+: who AND local_cidr).
// A CIDR of one family never holds an address of the other (Nebula 1.10+): an IPv4 packet is looked up among
// the IPv4 networks only and an IPv6 packet among the IPv6 ones; `any` holds both (docs/ipv6.md).

import { netContains, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
import { anyNet6Contains, net6Contains, type Net6 } from './net6.js';
import type { FirewallPeer } from './peer.js';
import type { FirewallRule, LocalCidr } from './rule-parse.js';

/** What a selector needs to know about the packet. */
export interface MatchTarget {
  remoteIp: Ipv4;
  localIp: Ipv4;
  /** An IPv6 packet: its addresses are remote6/local6 (the packet record's arrays) and the two above are unused. */
  ipv6: boolean;
  remote6: Uint32Array;
  local6: Uint32Array;
  /**
   * Whether a rule without local_cidr covers this packet's local address: always, unless our certificate has
   * unsafe networks and `default_local_cidr_any` is off, then only for our VPN addresses (Nebula 1.10+).
   */
  defaultLocal: boolean;
}

/** The union of the local_cidr values of the rules that share one "who" entry. */
export class LocalCidrs {
  any = false;
  default = false;
  readonly nets: Ipv4Net[] = [];
  readonly nets6: Net6[] = [];

  add(local: LocalCidr): void {
    if (local.kind === 'any') this.any = true;
    else if (local.kind === 'default') this.default = true;
    else if (local.kind === 'net') this.nets.push(local.net);
    else this.nets6.push(local.net);
  }

  matches(t: MatchTarget): boolean {
    if (this.any || (this.default && t.defaultLocal)) return true;
    if (t.ipv6) return anyNet6Contains(this.nets6, t.local6);
    for (const net of this.nets) if (netContains(net, t.localIp)) return true;
    return false;
  }
}

export class PeerSelector {
  /** Rules that match every peer (see ruleIsAny), by local_cidr. */
  anyPeer: LocalCidrs | null = null;
  readonly hosts = new Map<string, LocalCidrs>();
  readonly groupSets: { groups: readonly string[]; local: LocalCidrs }[] = [];
  readonly cidrs: { net: Ipv4Net; local: LocalCidrs }[] = [];
  readonly cidrs6: { net: Net6; local: LocalCidrs }[] = [];

  add(rule: FirewallRule): void {
    if (ruleIsAny(rule)) {
      (this.anyPeer ??= new LocalCidrs()).add(rule.localCidr);
      return;
    }
    if (rule.groups.length > 0) {
      const local = new LocalCidrs();
      local.add(rule.localCidr);
      this.groupSets.push({ groups: rule.groups, local });
    }
    if (rule.host !== '') {
      let local = this.hosts.get(rule.host);
      if (!local) this.hosts.set(rule.host, (local = new LocalCidrs()));
      local.add(rule.localCidr);
    }
    if (rule.cidr) {
      const local = new LocalCidrs();
      local.add(rule.localCidr);
      this.cidrs.push({ net: rule.cidr, local });
    }
    if (rule.cidr6) {
      const local = new LocalCidrs();
      local.add(rule.localCidr);
      this.cidrs6.push({ net: rule.cidr6, local });
    }
  }

  matches(t: MatchTarget, peer: FirewallPeer): boolean {
    if (this.anyPeer?.matches(t)) return true;
    for (const set of this.groupSets) {
      let all = true;
      for (const group of set.groups) {
        if (!peer.groups.has(group)) {
          all = false;
          break;
        }
      }
      if (all && set.local.matches(t)) return true;
    }
    if (this.hosts.get(peer.name)?.matches(t)) return true;
    if (t.ipv6) {
      for (const c of this.cidrs6) if (net6Contains(c.net, t.remote6) && c.local.matches(t)) return true;
      return false;
    }
    for (const c of this.cidrs) if (netContains(c.net, t.remoteIp) && c.local.matches(t)) return true;
    return false;
  }
}

/**
 * Nebula's "any": no host/group/cidr at all (only a CA or local_cidr restriction), `host: any`, `any` among the
 * groups, or `cidr: any`. (Nebula 1.6-1.9 also took any CIDR containing 0.0.0.0, e.g. 0.0.0.0/8, as any; 1.10+
 * matches it as written, and so does mesh: 0.0.0.0/0 is every IPv4 remote and ::/0 every IPv6 one, neither is
 * both.) The rule's local_cidr still applies.
 */
export function ruleIsAny(rule: FirewallRule): boolean {
  if (rule.groups.length === 0 && rule.host === '' && rule.cidr === null && rule.cidr6 === null) return true;
  if (rule.host === 'any' || rule.groups.includes('any')) return true;
  return rule.cidrAny;
}

export class CaBuckets {
  unrestricted: PeerSelector | null = null;
  readonly bySha = new Map<string, PeerSelector>();
  readonly byName = new Map<string, PeerSelector>();

  add(rule: FirewallRule): void {
    if (rule.caSha === '' && rule.caName === '') {
      (this.unrestricted ??= new PeerSelector()).add(rule);
      return;
    }
    if (rule.caSha !== '') bucketFor(this.bySha, rule.caSha).add(rule);
    if (rule.caName !== '') bucketFor(this.byName, rule.caName).add(rule);
  }

  matches(t: MatchTarget, peer: FirewallPeer): boolean {
    if (this.unrestricted?.matches(t, peer)) return true;
    if (this.bySha.size > 0 && this.bySha.get(peer.issuer)?.matches(t, peer)) return true;
    // '' means the peer's CA is not in our pool: Nebula then skips the ca_name rules.
    if (this.byName.size === 0 || peer.caName === '') return false;
    return this.byName.get(peer.caName)?.matches(t, peer) ?? false;
  }
}

function bucketFor(map: Map<string, PeerSelector>, key: string): PeerSelector {
  let selector = map.get(key);
  if (!selector) {
    selector = new PeerSelector();
    map.set(key, selector);
  }
  return selector;
}
