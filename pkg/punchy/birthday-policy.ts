// When the port-preserving side (M) of a birthday attempt may probe, and how often (docs/security-model.md). A
// birthday request is 15 bytes and a probing run is PROBES datagrams, so whom a run may reach and how many runs
// there may be is what bounds the amplification a peer can cause:
//
//   target   only the IPv4 address a lighthouse saw the peer's packets come from (meta.ts SEEN_FIRST_V4): a
//            peer can report any address (advertise_addrs, a crafted host update), and one that reaches the
//            lighthouse only through a relay has no seen address at all. The target is the peer's own NAT.
//   sides    only when the lighthouses' views say the peer's NAT rewrites ports and ours keeps them (or we have
//            none): the only case the method is for. Anything else a peer asks for is refused. Our own side is
//            judged by what we measured against a lighthouse's second port when we could (punchy/nat-discovery.ts):
//            the method needs the prober's mapping to be endpoint-independent and the other side's not, which port
//            preservation only hints at.
//   rate     one run per peer per PEER_RUN_INTERVAL_MS (the requester itself retries no sooner), and at most
//            GLOBAL_RUNS runs in any GLOBAL_WINDOW_MS across all peers.
//
// So one peer makes us send at most PROBES probes per PEER_RUN_INTERVAL_MS, all to its own public IP, and all
// peers together at most GLOBAL_RUNS * PROBES per GLOBAL_WINDOW_MS.

import { isIpv6Addr, type UdpAddr } from '../udp/addr.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import { ATTEMPT_MS } from './birthday.js';
import { portBehaviour } from './nat-kind.js';

export const PEER_RUN_INTERVAL_MS = 4 * ATTEMPT_MS;
export const GLOBAL_RUNS = 4;
export const GLOBAL_WINDOW_MS = 4 * ATTEMPT_MS;

/** Why a birthday request was refused; counted as drops{birthday-<reason>}. */
export type ProbeRefusal = 'peer-not-seen' | 'peer-not-rewriting' | 'not-our-side';

/** Our own NAT's mapping as measured against a lighthouse's second port (punchy/nat-discovery.ts). */
export type MeasuredMapping = 'endpoint-independent' | 'endpoint-dependent' | 'unknown';

/** Measured mappings of the two sides, where known (each side knows only its own). */
export interface MeasuredSides {
  symmetric?: MeasuredMapping;
  prober?: MeasuredMapping;
}

/**
 * Whether NAT views fit the method, with `symmetric` the side that opens many sockets and `prober` the side that
 * probes: the symmetric side's NAT must map per destination and the prober's must not. A measured mapping decides
 * for its side; otherwise port behaviour stands in (rewriting for the symmetric side, preserving or no NAT for the
 * prober). Both sides judge by this, each with the views swapped and its own measurement.
 */
export function birthdaySides(
  symmetric: readonly UdpAddr[],
  prober: readonly UdpAddr[],
  measured: MeasuredSides = {},
): 'fit' | 'not-rewriting' | 'not-preserving' {
  const s = measured.symmetric ?? 'unknown';
  if (s === 'endpoint-independent' || (s === 'unknown' && portBehaviour(symmetric) !== 'rewriting'))
    return 'not-rewriting';
  const m = measured.prober ?? 'unknown';
  if (m !== 'unknown') return m === 'endpoint-independent' ? 'fit' : 'not-preserving';
  const p = portBehaviour(prober);
  return p === 'preserving' || p === 'no-nat' ? 'fit' : 'not-preserving';
}

/**
 * `self` and `peer` are NAT views (LighthouseClient.natViewOf): [seen address, ...reported IPv4 addresses], empty
 * when no lighthouse saw one. Returns the address to probe (its IP; ports are guessed) or why not.
 */
export function probeTarget(
  self: readonly UdpAddr[],
  peer: readonly UdpAddr[],
  selfMeasured: MeasuredMapping = 'unknown',
): UdpAddr | ProbeRefusal {
  if (peer.length === 0 || isIpv6Addr(peer[0])) return 'peer-not-seen';
  const sides = birthdaySides(peer, self, { prober: selfMeasured });
  if (sides === 'not-rewriting') return 'peer-not-rewriting';
  if (sides === 'not-preserving') return 'not-our-side';
  return peer[0];
}

/**
 * One run per peer per PEER_RUN_INTERVAL_MS, for both sides: the prober's budget below and the symmetric side's
 * requests (daemon/birthday.ts). Memory: one entry per peer with a run in the last interval.
 */
export class PeerRunInterval {
  private readonly lastRun = new Map<VpnIp, number>();

  /** Whether `peer` had no run in the interval before `now` (forgets runs older than that). */
  isFree(peer: VpnIp, now: number): boolean {
    for (const [ip, at] of this.lastRun) if (now - at >= PEER_RUN_INTERVAL_MS) this.lastRun.delete(ip);
    return !this.lastRun.has(peer);
  }

  record(peer: VpnIp, now: number): void {
    this.lastRun.set(peer, now);
  }

  /** isFree, and when it is, the run is recorded. */
  take(peer: VpnIp, now: number): boolean {
    if (!this.isFree(peer, now)) return false;
    this.record(peer, now);
    return true;
  }
}

/** The rate half of the policy. Memory: at most one entry per run admitted in the last PEER_RUN_INTERVAL_MS. */
export class ProbeBudget {
  private readonly perPeer = new PeerRunInterval();
  private readonly recentRuns: number[] = [];

  /** Whether `peer` may start a run at `now`; when it may, the run is recorded. */
  admit(peer: VpnIp, now: number): 'ok' | 'peer-rate' | 'global-rate' {
    while (this.recentRuns.length > 0 && now - this.recentRuns[0] >= GLOBAL_WINDOW_MS) this.recentRuns.shift();
    if (!this.perPeer.isFree(peer, now)) return 'peer-rate';
    if (this.recentRuns.length >= GLOBAL_RUNS) return 'global-rate';
    this.perPeer.record(peer, now);
    this.recentRuns.push(now);
    return 'ok';
  }
}
