// How the warm-up's throwaway network (warm-up.ts) hands its datagrams over: one per event-loop turn, in the order
// sent, and none while the real node's data path is busy, so the warm-up never holds a real packet for more than one
// of its steps.

import { after, type Clock } from '../clock/clock.js';
import type { DeliveryPacer } from '../udp/memory-udp.js';
import type { RealDataPath } from './warm-up-schedule.js';

/** A throwaway datagram waits while the real data path carried a packet within this long, checked again after it. */
export const WARM_UP_YIELD_MS = 20;

/**
 * Hands the throwaway network's datagrams over one event-loop turn at a time (setImmediate), so real I/O runs
 * between the warm-up's steps instead of after a whole in-memory contact, and holds them while the real node's data
 * path is busy: a real packet waits for one step's work at most, not for the warm-up (a 43 ms reply at 1 ms pings,
 * 33-80 ms first replies in test/e2e/recover-first-packet, when it ran as one chain of microtasks). Closed, it drops
 * what it holds: nothing reaches a stopped throwaway node.
 */
export class YieldingPacer implements DeliveryPacer {
  private closed = false;
  /** Datagrams in flight, in the order sent: they arrive in that order. */
  private readonly queue: Array<() => void> = [];
  /** The one pending wake-up (a turn, or a wait while the real path is busy); null when none is armed. */
  private cancelWake: (() => void) | null = null;
  private arrivals: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly realPath: RealDataPath,
  ) {}

  pace(arrive: () => void): void {
    if (this.closed) return;
    this.queue.push(arrive);
    if (this.cancelWake === null) this.nextTurn();
  }

  /** Resolves once the next datagram has arrived (and its receiver has handled it). */
  nextArrival(): Promise<void> {
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.cancelWake?.();
    this.cancelWake = null;
  }

  private nextTurn(): void {
    const immediate = setImmediate(() => this.wake());
    this.cancelWake = () => clearImmediate(immediate);
  }

  /** One datagram per turn while the real path is quiet; otherwise wait WARM_UP_YIELD_MS and look again. */
  private wake(): void {
    this.cancelWake = null;
    if (this.closed || this.queue.length === 0) return;
    if (!this.realPath.quietFor(WARM_UP_YIELD_MS)) {
      this.cancelWake = after(this.clock, WARM_UP_YIELD_MS, () => this.wake());
      return;
    }
    const arrive = this.queue.shift() as () => void;
    arrive();
    const waiting = this.arrivals;
    this.arrivals = [];
    for (const resolve of waiting) resolve();
    if (this.queue.length > 0 && this.cancelWake === null) this.nextTurn();
  }
}
