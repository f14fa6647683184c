// How often a punch request from the tier may make a host we serve punch toward one asker (docs/lighthouse-tier.md,
// "Bounded punches"). A HostPunchNotification makes its host send a couple of datagrams to each of up to ~22
// addresses, so an unlimited stream of requests over NATS would turn one message into dozens of UDP sends toward
// addresses the publisher names. A query through a single lighthouse draws at most one notification per query; here
// the pair (target, asker) gets one per interval, whatever the tier sends, and the lighthouse as a whole a token
// bucket of TIER_PUNCHES_PER_SECOND (at most that many at once, refilled at that rate): the pairs alone bound nothing
// against a publisher that names a new pair each time.

import type { Clock } from '../../clock/clock.js';
import type { VpnIp } from '../../ip/vpn-ip.js';
import { TokenBucket } from './token-bucket.js';

/** One punch per target and asker per second, as a querying node re-asks at most about that often. */
export const TIER_PUNCH_INTERVAL_MS = 1000;
/** Pairs remembered; past this the oldest are forgotten (a forgotten pair may punch again at once). */
export const TIER_PUNCH_PAIRS = 4096;
/**
 * Punch notifications from the tier per second, all pairs together, and the most let through at once: several times
 * what a lighthouse would forward in bench/lh-tier.js (500 queries/s over a tier of three, two thirds answered from
 * the tier: about 110/s per lighthouse, estimated from its load, not counted).
 */
export const TIER_PUNCHES_PER_SECOND = 500;

/** Why a punch may not go out now: its pair punched within the interval, or the lighthouse's budget is spent. */
export type PunchRefusal = 'pair' | 'all';

export class TierPunchLimiter {
  /** Key "target asker" -> when its last punch was let through; insertion order = age order. */
  private readonly last = new Map<string, number>();
  private readonly all = new TokenBucket({ perSecond: TIER_PUNCHES_PER_SECOND, burst: TIER_PUNCHES_PER_SECOND });

  constructor(private readonly clock: Clock) {}

  /** null when a punch for this pair may go out now (then recorded), else why not. */
  refusal(target: VpnIp, asker: VpnIp): PunchRefusal | null {
    const key = `${target} ${asker}`;
    const now = this.clock.now();
    const at = this.last.get(key);
    if (at !== undefined && now - at < TIER_PUNCH_INTERVAL_MS) return 'pair';
    if (!this.all.take(now)) return 'all';
    this.last.delete(key);
    this.last.set(key, now);
    if (this.last.size > TIER_PUNCH_PAIRS) this.last.delete(this.last.keys().next().value as string);
    return null;
  }
}
