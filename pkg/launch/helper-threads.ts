// Puts V8's helper threads (its optimizing compiler's and garbage collector's workers, node's platform threads) at
// the SCHED_IDLE policy, so that they run only when no normal thread of the process wants the CPU.
//
// Why (issue 19, the RTT tails): a fresh tunnel's data path is optimized during its first few hundred packets
// (pkg/launch/tier-up.ts), each compile a 1-5 ms job on a helper thread at the same priority as the main thread. On
// a busy machine the kernel's scheduler lets a running thread finish its slice: a packet's wake-up then waited for a
// compile job of the same process, up to the next tick (4 ms), with the other CPU idle (perf sched traces of the
// lab's 10 ms pings: the main thread posts a compile job, the woken helper takes its CPU, the reply waits 3.4 ms).
// At SCHED_IDLE a waking normal thread of the process always takes the CPU from a helper at once; the compile
// finishes in the gaps between packets. The compiles are not cheaper and V8 does not wait for them (a function
// runs in its current tier until its optimized code is installed), so only when the work happens changes.
//
// Only the threads that exist when this runs: call it before the daemon starts anything that uses libuv's thread
// pool (DNS lookups, file and crypto jobs), which then keeps the normal policy. `MESH_HELPER_THREADS=normal` leaves
// every thread as it is, so a benchmark can compare both in one run.

import { readdirSync } from 'node:fs';

import { loadNativeAddon } from '../native/addon.js';

export const HELPER_THREADS_ENV = 'MESH_HELPER_THREADS';

/** A process's threads, as the policy needs them. */
export interface ProcessThreads {
  /** The ids of the process's threads now. */
  ids(): number[];
  /** Puts one of them at SCHED_IDLE; throws an Error whose `code` is the errno name when that fails. */
  setIdle(tid: number): void;
}

/** The running process's threads on Linux: /proc/self/task and the addon's thread_set_idle. */
export const linuxThreads: ProcessThreads = {
  ids: () => readdirSync('/proc/self/task').map(Number),
  setIdle: (tid) => loadNativeAddon().thread_set_idle(tid),
};

export interface HelperThreadsOutcome {
  /** Threads now at SCHED_IDLE. */
  idled: number;
  /** Threads that could not be moved, with the error's code (a thread that exited meanwhile is not one). */
  failed: Array<{ tid: number; code: string }>;
  /** True when the environment asked to leave the threads as they are. */
  skipped: boolean;
}

/** Every thread of the process but `mainTid` to SCHED_IDLE (see the top of this file). */
export function idleHelperThreads(
  mainTid: number = process.pid,
  threads: ProcessThreads = linuxThreads,
  env: NodeJS.ProcessEnv = process.env,
): HelperThreadsOutcome {
  const outcome: HelperThreadsOutcome = { idled: 0, failed: [], skipped: env[HELPER_THREADS_ENV] === 'normal' };
  if (outcome.skipped) return outcome;
  let ids: number[];
  try {
    ids = threads.ids();
  } catch (err) {
    outcome.failed.push({ tid: 0, code: errorCode(err) });
    return outcome;
  }
  for (const tid of ids) {
    if (tid === mainTid) continue;
    try {
      threads.setIdle(tid);
      outcome.idled++;
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'ESRCH') outcome.failed.push({ tid, code });
    }
  }
  return outcome;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(err);
}
