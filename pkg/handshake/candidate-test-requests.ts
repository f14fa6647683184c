// The test request that makes the peer of a candidate tunnel prove it (docs/state-machines.md, "Responder and
// candidate tunnels"), sent only if the peer has not used the candidate within CANDIDATE_TEST_DELAY_MS of our stage 2.
//
// A real initiator nearly always sends at once: the packet that started its handshake, a node's first host update to
// its lighthouse. That packet promotes the candidate, and a test request sent beside our stage 2 would then only have
// cost a seal, a datagram each way and an open (about a tenth of a lighthouse's CPU per handshake: bench/lh-load.ts).
// Whoever forged or replayed the stage 1 cannot answer either way, so the candidate stays unproven exactly as before;
// only a peer with nothing to say proves itself CANDIDATE_TEST_DELAY_MS later, and when we want to use the tunnel
// first (our own handshake waits for the proof) `sendNow` sends its test request at once.
//
// One timer at a time, on the injected clock: every delay is the same, so the waiting candidates are due in the
// order they were added and the timer follows the oldest. At most MAX_DELAYED_TEST_REQUESTS wait; past that a test
// request goes at once, as before this delay existed.

import { after, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';

/** How long a candidate's peer has to use it before we ask it to, with one test request. */
export const CANDIDATE_TEST_DELAY_MS = 50;
/** Candidates whose test request may wait at once (the hostmap holds at most 4096 candidates). */
export const MAX_DELAYED_TEST_REQUESTS = 4096;

export interface CandidateTestEnv {
  clock: Clock;
  /** Whether `host` is still an unproven candidate (not promoted, not removed). */
  isCandidate(host: HostInfo): boolean;
  sendTestRequest(host: HostInfo): void;
  /** Hands what was sent to the kernel now (batched UDP). */
  flushSends?(): void;
  /** A send failed on the timer (a node stopping closed its socket): told, never thrown from a timer. */
  sendFailed(error: Error): void;
}

export class CandidateTestRequests {
  /** Candidate -> when its test request is due, in that order. */
  private readonly due = new Map<HostInfo, number>();
  /** Cancels the armed timer; null when none is armed. */
  private cancelTimer: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly env: CandidateTestEnv) {}

  /** How many candidates wait for their test request (for tests). */
  get waiting(): number {
    return this.due.size;
  }

  /** `host` was just answered as a candidate: its test request goes in CANDIDATE_TEST_DELAY_MS unless it is used. */
  schedule(host: HostInfo): void {
    if (this.stopped) return; // a stage 1 answered while the node stops: nobody will use the candidate
    if (this.due.size >= MAX_DELAYED_TEST_REQUESTS) {
      this.env.sendTestRequest(host);
      return;
    }
    // Deleted first, so a host scheduled again goes to the end: the map stays in due order.
    this.due.delete(host);
    this.due.set(host, this.env.clock.now() + CANDIDATE_TEST_DELAY_MS);
    if (this.cancelTimer === null) this.arm(CANDIDATE_TEST_DELAY_MS);
  }

  /** The candidate was used (promoted) or is gone: no test request. */
  cancel(host: HostInfo): void {
    this.due.delete(host);
  }

  /** Sends `host`'s test request now if it still waits: we want the proof before the delay would end. */
  sendNow(host: HostInfo): void {
    if (this.due.delete(host) && this.env.isCandidate(host)) this.env.sendTestRequest(host);
  }

  /** The node stops: no test request goes any more, and no timer is left on the clock. */
  stop(): void {
    this.stopped = true;
    this.due.clear();
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private arm(ms: number): void {
    this.cancelTimer = after(this.env.clock, ms, () => this.fire());
  }

  private fire(): void {
    this.cancelTimer = null;
    const now = this.env.clock.now();
    let sent = 0;
    for (const [host, at] of this.due) {
      if (at > now) {
        this.arm(at - now);
        break;
      }
      this.due.delete(host);
      if (!this.env.isCandidate(host)) continue;
      try {
        this.env.sendTestRequest(host);
        sent++;
      } catch (e) {
        this.env.sendFailed(e as Error);
      }
    }
    try {
      if (sent > 0) this.env.flushSends?.();
    } catch (e) {
      this.env.sendFailed(e as Error);
    }
  }
}
