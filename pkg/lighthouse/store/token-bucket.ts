// A token bucket on the injected clock (docs/lighthouse-tier.md, Bounded punches): at most `burst` at once, refilled
// at `perSecond`, so any span of t seconds lets through at most burst + perSecond * t. A fixed one-second window
// (pkg/log/rate-limit.ts, right for log lines) lets a whole second's budget through on each side of a window's edge:
// twice the rate within a millisecond.

export interface TokenBucketLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Tokens held at most: what may go at once after a quiet spell. */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private refilledAt = -Infinity;

  constructor(private readonly limit: TokenBucketLimit) {
    this.tokens = limit.burst;
  }

  /** Takes one token at `now` (ms, monotonic) if there is one. */
  take(now: number): boolean {
    // The first call fills up to the burst, no further; a time before the last refill adds nothing.
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.refilledAt) * this.limit.perSecond) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
