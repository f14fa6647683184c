// A periodic task over every tunnel, spread over its interval instead of run in one turn. The punchy keep-alive
// goes to every tunnel every 10 s; at 10k tunnels one synchronous pass held a lighthouse's only thread for 50-68 ms,
// and every query that arrived meanwhile waited for it (docs/state-machines.md).
//
// Each round takes a snapshot of the items when it starts and visits them in slices, one slice per tick, the ticks
// evenly spaced over the interval; the next round starts one interval after this one. So an item present when a
// round starts is visited exactly once in it, and no tick visits more than `perTick` items. An item that appears
// during a round waits for the next (at most one interval, as with the single pass); the visitor decides whether an
// item from the snapshot is still worth visiting (a tunnel closed meanwhile is not). Few items take one tick per
// round, so a small node wakes no more often than before.

import { after, type Clock } from '../clock/clock.js';

export interface SpreadRoundsOptions<T> {
  clock: Clock;
  intervalMs: number;
  /** The items of a round, read once when it starts. */
  items: () => Iterable<T>;
  visit: (item: T) => void;
  /** At most this many visits per tick (default 64). */
  perTick?: number;
  /** Ticks are at least this far apart (default 100 ms), which caps the wake-ups at interval / minTickMs. */
  minTickMs?: number;
}

export class SpreadRounds<T> {
  private readonly perTick: number;
  private readonly maxTicks: number;
  private round: T[] = [];
  private next = 0;
  private ticksLeft = 0;
  private cancel: (() => void) | null = null;

  constructor(private readonly opts: SpreadRoundsOptions<T>) {
    this.perTick = Math.max(1, opts.perTick ?? 64);
    this.maxTicks = Math.max(1, Math.floor(opts.intervalMs / (opts.minTickMs ?? 100)));
  }

  /** The first round starts one interval from now, as a periodic timer's first run would (Clock.every). */
  start(): void {
    if (this.cancel === null) this.schedule(this.opts.intervalMs, () => this.startRound());
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
    this.round = [];
  }

  private schedule(ms: number, fn: () => void): void {
    this.cancel = after(this.opts.clock, ms, fn);
  }

  private startRound(): void {
    this.round = Array.from(this.opts.items());
    this.next = 0;
    // As few ticks as keep each at or under perTick; more than maxTicks would tick faster than minTickMs, so then
    // the slices grow instead (the cap on wake-ups wins over the cap per tick).
    this.ticksLeft = Math.min(this.maxTicks, Math.max(1, Math.ceil(this.round.length / this.perTick)));
    const spacing = this.opts.intervalMs / this.ticksLeft;
    // The next round is due one interval from this one's start; the ticks of this one fill that interval.
    // Scheduled before visiting, so a visitor that throws loses only the rest of its slice, not the schedule.
    const tickThenSchedule = (): void => {
      this.schedule(spacing, this.ticksLeft > 1 ? tickThenSchedule : () => this.startRound());
      this.tick();
    };
    tickThenSchedule();
  }

  private tick(): void {
    // An even share of what is left, so rounding never leaves a remainder for a last, larger tick.
    const round = this.round;
    const end = this.next + Math.ceil((round.length - this.next) / this.ticksLeft);
    this.ticksLeft--;
    if (this.ticksLeft === 0) this.round = [];
    while (this.next < end) this.opts.visit(round[this.next++]);
  }
}
