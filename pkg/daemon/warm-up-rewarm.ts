// The warm-up's second phase: the same throwaway first contact (warm-up.ts) run again later in a long-running
// daemon, once V8 may have discarded what the first run warmed. V8 flushes the bytecode of functions not run during
// its last 5 major GCs (--flush-bytecode, on by default in Node 20), and a first contact's code (handshake, lighthouse
// query and answer, the queued first packet) runs only when a new peer comes: in process, after ~25 major GCs with
// that code unused, V8 discarded ~930 functions and the next first contact took 6.0-7.6 ms of CPU against 4.0-5.8
// without them (docs/state-machines.md "Start-up warm-up"). So after REWARM_AFTER_MAJOR_GCS major GCs since the last
// run, at most once per REWARM_MIN_INTERVAL_MS, it runs again once the data path has been quiet REWARM_QUIET_MS, with
// the first run's pacing (a step waits while real packets flow; warm-up-pacer.ts). A tunnel install starts the count
// again as a run does (a real first contact ran the same code). A node with no major GC (an idle one allocates
// little) never runs it; one with many and no new peers runs it every REWARM_MIN_INTERVAL_MS at most.
//
// Unlike the first run it skips the round at the give-up bound (WARM_UP_GIVE_UP_MS) instead of running without
// waiting for quiet: the first run's trade (once per process, so its first contacts run warm) would recur here every
// interval on exactly the busiest nodes (a lighthouse with hundreds of nodes, a node carrying a stream), each time
// 25-47 ms of CPU in steps real datagrams queue behind. Nothing waits on a re-warm, and a node that busy runs its
// data path's code all the time; the skipped round is counted (warm-up-again{skipped}) and tried again after the
// interval, with the GCs it saw still counted (the code did not run).

import { after } from '../clock/clock.js';
import type { MajorGcs } from './major-gcs.js';
import { runWhenQuiet, type QuietRunEnd, type WarmUpHost, type WarmUpRun } from './warm-up-schedule.js';

/** Below V8's --bytecode-old-age (5): the code the last run warmed is still there when the re-warm is due. */
export const REWARM_AFTER_MAJOR_GCS = 3;
/** The CPU bound: one run (~25-40 ms of CPU once its code is warm) per this long at most. */
export const REWARM_MIN_INTERVAL_MS = 10 * 60_000;
/** Longer than the first run's quiet: nothing waits on a re-warm, so it waits for a pause in the traffic. */
export const REWARM_QUIET_MS = 1000;
/** Its outcomes ('done', 'timed-out', 'failed', 'skipped'), counted apart from the first run's. */
export const REWARM_COUNTER = 'warm-up-again';

/**
 * Re-runs the warm-up as said above; returns a cancel function (the daemon's stop calls it). Starts counting now: the
 * first run is due within seconds of the daemon's start, far less than REWARM_MIN_INTERVAL_MS.
 */
export function scheduleRewarm(host: WarmUpHost, gcs: MajorGcs, run: WarmUpRun): () => void {
  let majorGcs = 0;
  let lastRunAt = host.clock.now();
  /** Cancels a wait for the interval's end or for a quiet data path (nothing once the run started); null: none. */
  let cancelWaiting: (() => void) | null = null;
  /** A re-warm is running (it cannot be stopped midway; it ends by its own timeout at the latest). */
  let running = false;
  let stopped = false;
  const ended = (how: QuietRunEnd): void => {
    cancelWaiting = null;
    running = false;
    if (how === 'ran') majorGcs = 0; // the GCs during the run count for nothing: its code ran after them
    lastRunAt = host.clock.now();
  };
  const started: WarmUpRun = (clock, yieldTo) => {
    running = true;
    return run(clock, yieldTo);
  };
  const due = (): void => {
    cancelWaiting = runWhenQuiet(host, REWARM_QUIET_MS, REWARM_COUNTER, started, 'skip', (how) => {
      if (!stopped) ended(how);
    });
  };
  const onGc = (): void => {
    majorGcs++;
    if (majorGcs < REWARM_AFTER_MAJOR_GCS || cancelWaiting !== null || running) return;
    const wait = lastRunAt + REWARM_MIN_INTERVAL_MS - host.clock.now();
    if (wait <= 0) due();
    else cancelWaiting = after(host.clock, wait, due);
  };
  // A tunnel installed: a real first contact (or a re-handshake) just ran the code a re-warm would run, which makes
  // it young again as a run does, so the count starts again and a re-warm waiting to run has nothing left to do (a
  // node that handshakes with new peers regularly never needs one). The interval is left as it is: it bounds the
  // re-warm's own CPU.
  const onInstalled = (): void => {
    majorGcs = 0;
    cancelWaiting?.();
    cancelWaiting = null;
  };
  const unsubscribeGcs = gcs.onMajorGc(onGc);
  const unsubscribeInstalls = host.tunnels.onInstalled(onInstalled);
  return () => {
    stopped = true;
    unsubscribeGcs();
    unsubscribeInstalls();
    cancelWaiting?.();
    cancelWaiting = null;
  };
}
