// When a stage 2 we answered goes to the socket: at once, unless another one did less than STAGE2_FLUSH_GAP_MS ago.
//
// The initiator's tunnel waits for our stage 2, so a lone one (first contact, a re-handshake) is flushed the moment
// it is written, before whatever else the turn handles. In a burst of stage 1s (a lighthouse after a restart,
// thousands of nodes joining) every one of them used to be flushed alone: one sendmmsg per handshake. Now those
// that follow within the gap wait in the socket's queue for the next stage 2 that is due or for the end of the turn
// (the socket flushes its queue then), so a receive batch's stage 2s share system calls. A deferred one waits at
// most the gap (when the next due stage 2 follows), or else the rest of the turn: the receive batch's other work
// (host updates, queries, data) and the end-of-turn flushes queued before the socket's, typically a few ms at a
// lighthouse (docs/state-machines.md, responder step 7).

import type { Clock } from '../clock/clock.js';

/** At most this long between the flushes of stage 2s written one after another (a handshake is ~0.5-0.7 ms). */
export const STAGE2_FLUSH_GAP_MS = 2;

export class Stage2Flush {
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly gapMs: number = STAGE2_FLUSH_GAP_MS,
  ) {}

  /** True when the stage 2 just queued is to be flushed now (and counts as flushed from now). */
  due(): boolean {
    const now = this.clock.now();
    if (now - this.lastFlushAt < this.gapMs) return false;
    this.lastFlushAt = now;
    return true;
  }
}
