// The last two levels of the rule index (reference §8.2): for one direction, protocol and port, the rules
// sorted into CA buckets, and in each bucket who may match (Nebula's FirewallCA and FirewallRule).
//
// A rule with both ca_sha and ca_name is stored under each, so the two are OR'd; within a bucket a peer
// matches if the bucket is "any", or it has every group of one group set, or its Name is listed, or the
// packet's remote address is in a listed CIDR.

import { netContains, type Ipv4Net } from '../ip/ipv4.js';
import type { FirewallPeer } from './peer.js';
import type { FirewallRule } from './rule-parse.js';

export class PeerSelector {
  any = false;
  readonly hosts = new Set<string>();
  readonly groupSets: (readonly string[])[] = [];
  readonly cidrs: Ipv4Net[] = [];

  add(rule: FirewallRule): void {
    if (this.any) return;
    if (ruleIsAny(rule)) {
      this.any = true;
      this.hosts.clear();
      this.groupSets.length = 0;
      this.cidrs.length = 0;
      return;
    }
    if (rule.groups.length > 0) this.groupSets.push(rule.groups);
    if (rule.host !== '') this.hosts.add(rule.host);
    if (rule.cidr) this.cidrs.push(rule.cidr);
  }

  matches(remoteIp: number, peer: FirewallPeer): boolean {
    if (this.any) return true;
    for (const set of this.groupSets) {
      let all = true;
      for (const group of set) {
        if (!peer.groups.has(group)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    if (this.hosts.has(peer.name)) return true;
    for (const net of this.cidrs) if (netContains(net, remoteIp)) return true;
    return false;
  }
}

/**
 * Nebula's "any": no host/group/cidr at all (only a CA restriction), `host: any`, `any` among the groups,
 * or a CIDR containing 0.0.0.0 (so `0.0.0.0/8` is any too). One such rule makes its whole bucket any.
 */
export function ruleIsAny(rule: FirewallRule): boolean {
  if (rule.groups.length === 0 && rule.host === '' && rule.cidr === null) return true;
  if (rule.host === 'any' || rule.groups.includes('any')) return true;
  return rule.cidr !== null && netContains(rule.cidr, 0);
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

  matches(remoteIp: number, peer: FirewallPeer): boolean {
    if (this.unrestricted?.matches(remoteIp, peer)) return true;
    if (this.bySha.size > 0 && this.bySha.get(peer.issuer)?.matches(remoteIp, peer)) return true;
    // '' means the peer's CA is not in our pool: Nebula then skips the ca_name rules.
    if (this.byName.size === 0 || peer.caName === '') return false;
    return this.byName.get(peer.caName)?.matches(remoteIp, peer) ?? false;
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
