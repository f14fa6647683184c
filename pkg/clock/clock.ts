// Time is injected so that protocol logic is testable without sleeping: every time decision reads now() (conntrack
// expiry, handshake retries, liveness, roaming suppression), wall time comes from unixMs() (handshake Time, certificate
// validity), and one-shot protocol timers go through after() (path health, the recv_error proof wait, a stage 1 waiting
// for its punch to settle, certificate expiry), which ManualClock fires on advance(). Periodic tasks (the handshake
// ticker, liveness, punchy keep-alives, lighthouse updates) and the daemon's schedule() are still real timers in
// daemon/node.ts; their tests call the task itself (tick(), checkLiveness()) after advancing a ManualClock.

export interface Clock {
  /** Milliseconds, monotonic for `SystemClock` (not wall time: see `unixMs`). */
  now(): number;
  /** Unix milliseconds (wall time), for handshake Time stamps and certificate validity; absent means Date.now(). */
  unixMs?(): number;
  /** Runs `fn` once, `ms` from now on this clock; returns a cancel function. Absent means a real (unref'd) timer. */
  after?(ms: number, fn: () => void): () => void;
}

function realTimer(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

export const systemClock: Clock = {
  now: () => performance.now(),
  unixMs: () => Date.now(),
  after: realTimer,
};

/** Wall time from `clock`, or the system's when the clock has none. */
export function unixMs(clock: Clock): number {
  return clock.unixMs?.() ?? Date.now();
}

/** A one-shot timer on `clock` (a real one when the clock has no timers of its own); returns a cancel function. */
export function after(clock: Clock, ms: number, fn: () => void): () => void {
  return clock.after ? clock.after(ms, fn) : realTimer(ms, fn);
}

/**
 * A clock that moves only when told to: the twin used by unit tests. Its wall time starts at the real one. Its
 * timers fire during `advance`, in time order, each with the clock showing its due time.
 */
export class ManualClock implements Clock {
  private readonly unixAtStart = Date.now();
  private readonly start: number;
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];
  private seq = 0;

  constructor(private ms = 0) {
    this.start = ms;
  }
  now(): number {
    return this.ms;
  }
  unixMs(): number {
    return this.unixAtStart + (this.ms - this.start);
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.ms + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  advance(ms: number): void {
    const end = this.ms + ms;
    // Timers set by a timer that are due by `end` run in this loop too.
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.ms = due.at;
      due.fn();
    }
    this.ms = end;
  }
}
