// Time is injected so that protocol logic is testable without sleeping: every time decision reads now() (conntrack
// expiry, handshake retries, liveness, roaming suppression), wall time comes from unixMs() (handshake Time, certificate
// validity), and every protocol timer runs on the clock: one-shot ones through after() (path health, the recv_error
// proof wait, a stage 1 waiting for its punch to settle, certificate expiry, the daemon's schedule(), RTT probe
// timeouts, the TCP fallback's waits, the lighthouse store's refresh) and periodic ones through every() (the
// handshake ticker, liveness, the firewall sweep, relay upgrades, lighthouse updates; punchy keep-alives are spread
// rounds of after()). ManualClock fires both on advance(), so a test drives a whole node in simulated time.
//
// Real timers remain only where the wait is about something outside the process that does not run on our clock:
// a socket or a peer process (the 50 ms for close datagrams to leave in MeshNode.stop(), a TCP connect timeout, the
// control client's socket timeouts, NAT-PMP/PCP/UPnP retries against the real gateway, the NATS close flush), the
// address watch's poll of the kernel's interfaces, and the metrics exporter's sampling, which decides nothing for the
// protocol.

export interface Clock {
  /** Milliseconds, monotonic for `SystemClock` (not wall time: see `unixMs`). */
  now(): number;
  /** Unix milliseconds (wall time), for handshake Time stamps and certificate validity; absent means Date.now(). */
  unixMs?(): number;
  /** Runs `fn` once, `ms` from now on this clock; returns a cancel function. Absent means a real (unref'd) timer. */
  after?(ms: number, fn: () => void): () => void;
  /**
   * Runs `fn` every `ms` on this clock, the first time `ms` from now, until cancelled (the returned function); a
   * run may cancel its own timer. Absent means a real (unref'd) interval.
   */
  every?(ms: number, fn: () => void): () => void;
}

function realTimer(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

function realInterval(ms: number, fn: () => void): () => void {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
}

export const systemClock: Clock = {
  now: () => performance.now(),
  unixMs: () => Date.now(),
  after: realTimer,
  every: realInterval,
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
 * A periodic timer on `clock`; returns a cancel function. A clock with one-shot timers but no periodic ones gets
 * `after` re-armed on itself (a periodic timer on real time would leave such a clock's owner half on real time); a
 * clock with no timers at all gets a real interval.
 */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  if (clock.every) return clock.every(ms, fn);
  if (clock.after) return everyByAfter(clock as Clock & Pick<Required<Clock>, 'after'>, ms, fn);
  return realInterval(ms, fn);
}

/** `fn` every `ms` on the clock's one-shot timers: re-armed before each run (as ManualClock does), so a run may cancel. */
function everyByAfter(clock: Clock & Pick<Required<Clock>, 'after'>, ms: number, fn: () => void): () => void {
  let cancelled = false;
  const run = (): void => {
    if (cancelled) return;
    cancelNext = clock.after(ms, run);
    fn();
  };
  let cancelNext = clock.after(ms, run);
  return () => {
    cancelled = true;
    cancelNext();
  };
}

/** A ManualClock timer: one-shot when `period` is 0. */
interface ManualTimer {
  at: number;
  /** Order among timers due at the same time: the one set (or re-armed) first runs first. */
  seq: number;
  period: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to: the twin used by unit tests. Its wall time starts at the real one. Its
 * timers, one-shot and periodic alike, fire during `advance`, in time order (those due together in the order they
 * were set), each with the clock showing its due time; a periodic timer is re-armed one period on before it runs, so
 * it fires once per period passed and may cancel itself.
 */
export class ManualClock implements Clock {
  private readonly unixAtStart = Date.now();
  private readonly start: number;
  private readonly timers = new Set<ManualTimer>();
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
    return this.add(Math.max(0, ms), 0, fn);
  }
  every(ms: number, fn: () => void): () => void {
    // At least 1 ms, so a zero period cannot hold advance() in one instant forever.
    const period = Math.max(1, ms);
    return this.add(period, period, fn);
  }
  /** Timers not yet run or cancelled (periodic ones count until cancelled). */
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time on by `ms`, running every timer due by then, those set by a timer included. */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      const due = this.next(end);
      if (due === undefined) break;
      this.ms = due.at;
      if (due.period > 0) {
        due.at += due.period;
        due.seq = this.seq++;
      } else this.timers.delete(due);
      due.fn();
    }
    this.ms = end;
  }

  private add(wait: number, period: number, fn: () => void): () => void {
    const timer: ManualTimer = { at: this.ms + wait, seq: this.seq++, period, fn };
    this.timers.add(timer);
    return () => {
      this.timers.delete(timer);
    };
  }

  /** The earliest timer due by `end`. */
  private next(end: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers)
      if (t.at <= end && (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    return best;
  }
}
