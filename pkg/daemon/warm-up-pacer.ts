// How the warm-up (warm-up.ts) gives way to the real node. Its throwaway nodes talk over loopback sockets, so each of
// their datagrams is handled in its own I/O callback, between the real node's; what the warm-up drives itself (a
// throwaway node's start, a packet into a throwaway TUN) waits at a QuietGate: for a later event-loop turn, and while
// the real data path carried a packet within WARM_UP_YIELD_MS. A step sets off a few datagrams at most, so a real
// packet waits for one step's work at most (a datagram's, a node's preparation or start: the longest 8-29 ms in a
// cold process, 3-11 ms once warm; docs/state-machines.md), and no step starts while real packets flow.

import { after, type Clock } from '../clock/clock.js';
import type { RealDataPath } from './warm-up-schedule.js';

/** A step waits while the real data path carried a packet within this long, and looks again after it. */
export const WARM_UP_YIELD_MS = 20;

/** Where the warm-up waits before each step it drives. One wait at a time (the warm-up's steps are sequential). */
export class QuietGate {
  private closed = false;
  /** The pending wake-up (a turn, or a wait while the real path is busy); null when none is armed. */
  private cancelWake: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly realPath: RealDataPath,
  ) {}

  /** Resolves on a later event-loop turn once the real path has been quiet WARM_UP_YIELD_MS; never once closed. */
  pass(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return;
      const check = (): void => {
        this.cancelWake = null;
        if (this.closed) return;
        if (this.realPath.quietFor(WARM_UP_YIELD_MS)) return resolve();
        this.cancelWake = after(this.clock, WARM_UP_YIELD_MS, check);
      };
      this.cancelWake?.();
      const immediate = setImmediate(check);
      this.cancelWake = () => clearImmediate(immediate);
    });
  }

  /** Disarms the pending wait, if any: its step never starts. */
  close(): void {
    this.closed = true;
    this.cancelWake?.();
    this.cancelWake = null;
  }
}
