// When the daemon runs its warm-up (warm-up.ts): once the node is idle after start-up, i.e. a short while after its
// first tunnel is installed (normally a lighthouse's), or after a fallback delay on a node with no tunnel yet (no
// lighthouse, or one that does not answer). Deferred like port mapping, so start-up and the lighthouse
// registration, which a first contact waits for, never wait for it. Runs once per process.
//
// Idle means the data path too: the warm-up takes ~19 ms of CPU, and a packet that arrives while it holds the event
// loop waits for it. A tunnel's first traffic often starts right after its install (the packet that triggered the
// handshake), so when the time comes the warm-up waits until no tunnel has sent or received for WARM_UP_QUIET_MS,
// and once running it hands the loop back between its datagrams and waits while real packets flow (warm-up.ts). A
// node whose data path never goes quiet that long (a lighthouse with thousands of nodes, a stream started at boot)
// runs it at WARM_UP_GIVE_UP_MS without waiting for quiet: it still hands the loop back between its steps (a throwaway
// datagram, a throwaway node's preparation or start; warm-up-pacer.ts), so a real packet waits for one step at most,
// not for the whole warm-up: the longest is 8-29 ms in a cold process on a loaded 2-core machine (median 11), 3-11 ms
// when its code has run before (docs/state-machines.md), and its first contacts then run warm like any node's.

import { after, type Clock } from '../clock/clock.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';

/** After the first tunnel is installed: its handshake's remaining packets and first updates are done by then. */
export const WARM_UP_IDLE_MS = 200;
/** A node that installed no tunnel by then warms up anyway: a lighthouse that answers later must not delay it. */
export const WARM_UP_FALLBACK_MS = 3000;
/**
 * No tunnel sent or received for this long: the warm-up starts. Short, because a node's first real contact often
 * comes soon after its lighthouse registration, and a warm-up pushed into it makes that contact slower
 * (test/e2e/recover-first-packet: 33-80 ms with 200 ms, against 5-9 ms when it ran before the contact); traffic that
 * starts while it runs makes its hops wait (warm-up.ts, YieldingPacer).
 */
export const WARM_UP_QUIET_MS = 50;
/** From when the warm-up was due: a data path busy all that while gets it then, without waiting for quiet. */
export const WARM_UP_GIVE_UP_MS = 60_000;

/** A tunnel's last traffic, as the quiet check reads it (HostInfo: ms of the node's clock, 0 for never). */
export interface WarmUpTunnelTraffic {
  readonly lastSendAt: number;
  readonly lastRecvAt: number;
}

/** The node's tunnels as the schedule sees them: installs to come, and how many are up already. */
export interface WarmUpTunnels extends TunnelEvents {
  readonly size: number;
  /** Every established tunnel: when it last sent or received tells whether the data path is quiet. */
  hosts(): Iterable<WarmUpTunnelTraffic>;
}

/** Whether the real node's data path carried a packet recently: the warm-up yields to it. */
export interface RealDataPath {
  /** True when no tunnel sent or received within the last `ms` of the node's clock. */
  quietFor(ms: number): boolean;
}

/** What a warm-up run at the give-up bound yields to: nothing but the event loop's other callbacks. */
const NEVER_BUSY: RealDataPath = { quietFor: () => true };

/** When any tunnel last sent or received (0: none ever did). */
function lastTraffic(tunnels: WarmUpTunnels): number {
  let last = 0;
  for (const h of tunnels.hosts()) last = Math.max(last, h.lastSendAt, h.lastRecvAt);
  return last;
}

/** What the schedule needs from the node: its tunnels, clock, log and counters (where the outcome is counted). */
export interface WarmUpHost {
  readonly tunnels: WarmUpTunnels;
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters: Counters;
}

/** What a warm-up run rejects with when it gave up at its own timeout (counted apart from other failures). */
export class WarmUpTimedOut extends Error {
  constructor(ms: number) {
    super(`warm-up timed out after ${ms} ms`);
    this.name = 'WarmUpTimedOut';
  }
}

/**
 * The counter that says how the run ended, label 'done', 'timed-out' or 'failed' (at most one increment per
 * process): a benchmark reads it from the metrics to tell a run with the warm-up from one without.
 */
export const WARM_UP_COUNTER = 'warm-up';

/** A warm-up run: the throwaway first contact (warm-up.ts), told what to yield to. */
export type WarmUpRun = (clock: Clock, realPath: RealDataPath) => Promise<void>;

/**
 * What runWhenQuiet does when the data path was never quiet until WARM_UP_GIVE_UP_MS: 'run-anyway' runs without
 * waiting for quiet (its steps no longer wait for real packets either), 'skip' does not run and counts 'skipped'.
 */
export type AtGiveUp = 'run-anyway' | 'skip';

/** How a runWhenQuiet ended, for its `ended`: the run ran (whatever its outcome), or was skipped at the give-up. */
export type QuietRunEnd = 'ran' | 'skipped';

/**
 * Runs `run` once no tunnel sent or received for `quietMs`, checked again when that much has passed since the last
 * packet (one timer per deferral, none while idle), or at WARM_UP_GIVE_UP_MS after this call as `atGiveUp` says. How
 * it ended is counted under `counter` ('done', 'timed-out', 'failed' or 'skipped'); `ended` is told after that.
 * Returns a cancel function: a run not started yet never starts.
 */
export function runWhenQuiet(
  host: WarmUpHost,
  quietMs: number,
  counter: string,
  run: WarmUpRun,
  atGiveUp: AtGiveUp,
  ended: (how: QuietRunEnd) => void = () => {},
): () => void {
  let cancelTimer = (): void => {};
  let done = false;
  const dueAt = host.clock.now();
  const realPath: RealDataPath = {
    quietFor: (ms) => lastTraffic(host.tunnels) + ms <= host.clock.now(),
  };
  const runNow = (yieldTo: RealDataPath): void => {
    done = true;
    const cpu = process.cpuUsage();
    run(host.clock, yieldTo).then(
      () => {
        host.counters.inc(counter, 'done');
        const used = process.cpuUsage(cpu);
        host.log.debug('Warm-up done', { counter, cpuMs: Math.round((used.user + used.system) / 100) / 10 });
        ended('ran');
      },
      (e: unknown) => {
        // Once per process (or per re-warm interval) at most, so info: the first real contacts will run cold.
        host.counters.inc(counter, e instanceof WarmUpTimedOut ? 'timed-out' : 'failed');
        host.log.info('Warm-up did not complete: first contacts run cold', { counter, error: (e as Error).message });
        ended('ran');
      },
    );
  };
  const check = (): void => {
    if (done) return;
    const now = host.clock.now();
    const quietAt = lastTraffic(host.tunnels) + quietMs;
    if (quietAt <= now) return runNow(realPath);
    const giveUpAt = dueAt + WARM_UP_GIVE_UP_MS;
    if (quietAt > giveUpAt) {
      cancelTimer = after(host.clock, giveUpAt - now, () => {
        host.log.debug('Warm-up on a busy data path: it was never quiet', {
          counter,
          waitedMs: WARM_UP_GIVE_UP_MS,
          atGiveUp,
        });
        if (atGiveUp === 'run-anyway') return runNow(NEVER_BUSY);
        done = true;
        host.counters.inc(counter, 'skipped');
        ended('skipped');
      });
      return;
    }
    cancelTimer = after(host.clock, quietAt - now, check);
  };
  check();
  return () => {
    done = true;
    cancelTimer();
  };
}

/** Schedules `run` once; returns a cancel function (the daemon's stop calls it, so a stopping node never starts it). */
export function scheduleWarmUp(host: WarmUpHost, run: WarmUpRun): () => void {
  let cancelTimer = (): void => {};
  let cancelRun = (): void => {};
  let due = false;
  // Due: runs once the data path has been quiet WARM_UP_QUIET_MS, or at WARM_UP_GIVE_UP_MS regardless.
  const start = (): void => {
    if (due) return;
    due = true;
    unsubscribe();
    cancelTimer();
    // Once per process, so worth a run that no longer waits for quiet on a data path that never pauses (see above).
    cancelRun = runWhenQuiet(host, WARM_UP_QUIET_MS, WARM_UP_COUNTER, run, 'run-anyway');
  };
  const installed = (): void => {
    cancelTimer();
    cancelTimer = after(host.clock, WARM_UP_IDLE_MS, start);
    unsubscribe();
  };
  const unsubscribe = host.tunnels.onInstalled(installed);
  cancelTimer = after(host.clock, WARM_UP_FALLBACK_MS, start);
  // The daemon's start-up can finish after the lighthouse's tunnel is up (its answer beat the last await).
  if (host.tunnels.size > 0) installed();
  return () => {
    due = true;
    unsubscribe();
    cancelTimer();
    cancelRun();
  };
}
