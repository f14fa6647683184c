// The warm-up's data-path run: the throwaway pair (warm-up.ts) run a third time, with DATA_PATH_EXCHANGES packets
// each way, so V8 optimizes the data path (TurboFan) on throwaway packets and not on the first real ones (issue 19: a
// node pinged every second answered in .78-1.0 ms with an unoptimized data path, .58-.64 once 300 pings had run
// through it; docs/state-machines.md "Start-up warm-up"). The first run keeps its 4 exchanges: with 300 in it, a
// real first contact that came right after start met the throwaway nodes' CPU and took 30-80 ms.
//
// So this run never competes with a real contact: it is due DATA_PATH_DELAY_MS after the first run ended (whatever
// its outcome), starts once the node received nothing (no datagram on its socket, no packet read from its TUN) for
// DATA_PATH_QUIET_MS, and each of its steps waits while the node received anything within WARM_UP_YIELD_MS
// (warm-up-pacer.ts). Unlike the other runs, which yield only to established tunnels' traffic, it yields to every
// real datagram: a lighthouse query's answer, a handshake, a packet from an unknown address. A node that is never
// quiet that long until WARM_UP_GIVE_UP_MS skips it (counted 'skipped'): it never runs without yielding. Once per
// process; its outcome is counted under DATA_PATH_COUNTER.

import { after, type Clock } from '../clock/clock.js';
import { WARM_UP_GIVE_UP_MS, type RealDataPath, type WarmUpHost, type WarmUpRun } from './warm-up-schedule.js';
import { WarmUpTimedOut } from './warm-up-schedule.js';

/** Packets each way: what the 1 s ping and a fresh tunnel's first second were measured to gain with (see above). */
export const DATA_PATH_EXCHANGES = 300;
/**
 * From the first run's end: a node's first real contacts often come within a second of its start (its lighthouse
 * registration, the traffic that was waiting for the tunnel), and none of them should meet this run's CPU.
 */
export const DATA_PATH_DELAY_MS = 1000;
/**
 * Nothing received for this long: the run starts. Longer than a first contact's exchange (query, answer, handshake,
 * queued packet: a few RTTs) so it starts after one, shorter than the gap between a 1 s ping's packets or a keepalive
 * stream's, which is all the quiet a node carrying periodic traffic has (the node this run is for).
 */
export const DATA_PATH_QUIET_MS = 300;
/**
 * Its own timeout: 300 exchanges take ~0.1-0.3 s of wall time unpaused, and each step waits while real packets flow,
 * so a node with steady traffic stretches it; the throwaway nodes sit idle meanwhile.
 */
export const DATA_PATH_TIMEOUT_MS = 30_000;
/** Its outcomes: 'done', 'timed-out', 'failed' or 'skipped'. */
export const DATA_PATH_COUNTER = 'warm-up-data-path';

/** The warm-up with its exchanges and timeout given (warm-up.ts warmUp). */
export type DataPathWarmUpRun = (
  clock: Clock,
  realPath: RealDataPath,
  exchanges: number,
  timeoutMs: number,
) => Promise<void>;

/** What the node received so far: a count its UDP and TUN receive paths increment (MeshNode.received). */
export interface ReceiveCount {
  readonly received: number;
}

/**
 * The real node's receive activity as the warm-up reads it: the count is sampled at each look, and a change since
 * the last look counts as activity at that look (the receive path pays one increment, never a clock read).
 */
export class ReceiveActivity implements RealDataPath {
  private seen: number;
  private changedAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly count: ReceiveCount,
  ) {
    this.seen = count.received;
    this.changedAt = clock.now();
  }

  quietFor(ms: number): boolean {
    const now = this.clock.now();
    if (this.count.received !== this.seen) {
      this.seen = this.count.received;
      this.changedAt = now;
    }
    return this.changedAt + ms <= now;
  }
}

/** The data-path run's schedule: `after` wraps the first run, so this one is due once that one ended. */
export interface DataPathWarmUp {
  after(first: WarmUpRun): WarmUpRun;
  cancel(): void;
}

/** Schedules the data-path run as said above, once per process. */
export function scheduleDataPathWarmUp(host: WarmUpHost, count: ReceiveCount, run: DataPathWarmUpRun): DataPathWarmUp {
  let armed = false;
  let cancelled = false;
  let cancelTimer = (): void => {};
  const outcome = (label: string): void => {
    host.counters.inc(DATA_PATH_COUNTER, label);
  };
  const start = (activity: ReceiveActivity): void => {
    const cpu = process.cpuUsage();
    run(host.clock, activity, DATA_PATH_EXCHANGES, DATA_PATH_TIMEOUT_MS).then(
      () => {
        outcome('done');
        const used = process.cpuUsage(cpu);
        host.log.debug('Data-path warm-up done', { cpuMs: Math.round((used.user + used.system) / 100) / 10 });
      },
      (e: unknown) => {
        outcome(e instanceof WarmUpTimedOut ? 'timed-out' : 'failed');
        host.log.info('Data-path warm-up did not complete', { error: (e as Error).message });
      },
    );
  };
  // Due: looks every DATA_PATH_QUIET_MS (one timer at a time) until nothing was received over a whole period.
  const due = (): void => {
    const activity = new ReceiveActivity(host.clock, count);
    const giveUpAt = host.clock.now() + WARM_UP_GIVE_UP_MS;
    const look = (): void => {
      if (cancelled) return;
      if (activity.quietFor(DATA_PATH_QUIET_MS)) return start(activity);
      if (host.clock.now() + DATA_PATH_QUIET_MS > giveUpAt) {
        host.log.debug('Data-path warm-up skipped: the node was never quiet', { waitedMs: WARM_UP_GIVE_UP_MS });
        return outcome('skipped');
      }
      cancelTimer = after(host.clock, DATA_PATH_QUIET_MS, look);
    };
    cancelTimer = after(host.clock, DATA_PATH_QUIET_MS, look);
  };
  const firstEnded = (): void => {
    if (armed || cancelled) return;
    armed = true;
    cancelTimer = after(host.clock, DATA_PATH_DELAY_MS, due);
  };
  return {
    after: (first) => (clock, realPath) => {
      const ran = first(clock, realPath);
      ran.then(firstEnded, firstEnded);
      return ran;
    },
    cancel: () => {
      cancelled = true;
      cancelTimer();
    },
  };
}
