// Time is injected so that conntrack expiry, handshake retries, punchy and lighthouse timers are testable
// without sleeping.

export interface Clock {
  /** Milliseconds, monotonic for `SystemClock` (not wall time: see `unixMs`). */
  now(): number;
  /** Unix milliseconds (wall time), for handshake Time stamps and certificate validity; absent means Date.now(). */
  unixMs?(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  unixMs: () => Date.now(),
};

/** Wall time from `clock`, or the system's when the clock has none. */
export function unixMs(clock: Clock): number {
  return clock.unixMs?.() ?? Date.now();
}

/** A clock that moves only when told to: the twin used by unit tests. Its wall time starts at the real one. */
export class ManualClock implements Clock {
  private readonly unixAtStart = Date.now();
  private readonly start: number;

  constructor(private ms = 0) {
    this.start = ms;
  }
  now(): number {
    return this.ms;
  }
  unixMs(): number {
    return this.unixAtStart + (this.ms - this.start);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
