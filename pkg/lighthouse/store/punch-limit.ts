// How often a punch request from the tier may make a host we serve punch toward one asker (docs/lighthouse-tier.md,
// "No amplification"). A HostPunchNotification makes its host send a couple of datagrams to each of up to ~22
// addresses, so an unlimited stream of requests over NATS would turn one message into dozens of UDP sends toward
// addresses the publisher names. A query through a single lighthouse draws at most one notification per query; here
// the pair (target, asker) gets one per interval, whatever the tier sends.

import type { Clock } from '../../clock/clock.js';
import type { VpnIp } from '../../ip/vpn-ip.js';

/** One punch per target and asker per second, as a querying node re-asks at most about that often. */
export const TIER_PUNCH_INTERVAL_MS = 1000;
/** Pairs remembered; past this the oldest are forgotten (a forgotten pair may punch again at once). */
export const TIER_PUNCH_PAIRS = 4096;

export class TierPunchLimiter {
  /** Key "target asker" -> when its last punch was let through; insertion order = age order. */
  private readonly last = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** Whether a punch for this pair may go out now; records it when it may. */
  allow(target: VpnIp, asker: VpnIp): boolean {
    const key = `${target} ${asker}`;
    const now = this.clock.now();
    const at = this.last.get(key);
    if (at !== undefined && now - at < TIER_PUNCH_INTERVAL_MS) return false;
    this.last.delete(key);
    this.last.set(key, now);
    if (this.last.size > TIER_PUNCH_PAIRS) this.last.delete(this.last.keys().next().value as string);
    return true;
  }
}
