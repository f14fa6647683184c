// Makes V8 optimize the daemon's hot functions after far fewer calls than its default, so the data path runs as
// optimized code from its first few hundred packets instead of staying in the interpreter and baseline tiers.
//
// V8 decides to optimize a function when it has run `--interrupt-budget` bytes of its bytecode (67584 by default)
// a few times over. A packet runs each data-path function once, so with the default a function needs several
// hundred packets before it is optimized: a tunnel pinged every 10 ms is answered by baseline code for its first
// seconds, one pinged every second for minutes. bench/latency.js, 300 pings, same runs (load 2-4), median ms:
// every 1 ms 0.29-0.42 with the default, 0.15-0.19 with 4096; every 10 ms 0.68-0.70 against 0.47-0.50.
// 16384 gained less (10 ms: 0.64-0.72 against 0.55-0.63 with 4096 and 0.66-0.79 without, one run of 3 rounds).
// Not free: the optimizing now happens during a fresh tunnel's first few hundred packets, which shows in the p99 of
// the 1 ms pings in most runs (4-12 ms against 1-16 ms, as noisy as the load here). Pings every second are no
// faster (1.1 ms either way, nebula 0.3): even with every function optimized at once (--interrupt-budget=1024,
// --ticks-before-optimization=1) they were not, so that gap is not V8's tiers.
//
// Set at run time, after start-up, for the same reason as pkg/daemon/young-generation.ts: a V8 flag on the command
// line changes V8's flag hash, and node then compiles its internal modules without their built-in code cache. Set
// after start-up, it also leaves the start-up code (config, certificates) at V8's default pace: only functions whose
// budget starts or restarts after this call see the smaller one, which the data path's do (it first runs on the
// first packet).

import { setDaemonV8Flag } from './daemon-v8-flag.js';

/** Bytes of bytecode a function runs between V8's checks whether to optimize it (V8's default: 67584). */
export const DAEMON_INTERRUPT_BUDGET = 4096;

const BUDGET_FLAG = /^--(no-)?interrupt[-_]budget(=|$)/;

/**
 * Lowers V8's interrupt budget for the rest of the process's life. Returns false, changing nothing, in the build's
 * code-cache training run (its flags must stay as they started, pkg/launch/code-cache.ts) and when node's command
 * line or NODE_OPTIONS already sets the budget (an explicit choice, e.g. a benchmark's variant, wins).
 */
export function tierUpSooner(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  // Node 20 refuses to start with this V8 flag in NODE_OPTIONS (exit 9, "not allowed in NODE_OPTIONS"), so that
  // part of the guard is for a node that allows it rather than one we run on today.
  return setDaemonV8Flag(`--interrupt-budget=${DAEMON_INTERRUPT_BUDGET}`, BUDGET_FLAG, execArgv, env);
}
