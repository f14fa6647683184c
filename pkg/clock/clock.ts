// Time is injected so that conntrack expiry, handshake retries, punchy and lighthouse timers are testable
// without sleeping.

export interface Clock {
  /** Milliseconds, monotonic for `SystemClock` (not wall time: use `Date.now()` for certificate checks). */
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
};

/** A clock that moves only when told to: the twin used by unit tests. */
export class ManualClock implements Clock {
  constructor(private ms = 0) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
