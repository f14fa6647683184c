// Makes V8 give every function its feedback vector on its first call, so a daemon's rare paths (a first contact with a
// new peer: the lighthouse answer, the handshake, the first flow) run with working inline caches.
//
// By default (`--lazy-feedback-allocation`) V8 allocates a function's feedback vector only after it has run bytecode
// worth about 8 times its own size (about 8 calls of a function without loops): until then none of its property loads,
// calls or stores cache what they found, and each one takes V8's generic lookup. The code of a first contact runs a few
// times per process: once for each lighthouse at start and once in the start-up warm-up (pkg/daemon/warm-up.ts), never
// 8 times, so a running node's first contact with a new peer still ran without feedback however warm its bytecode was.
// Lab, first contact on running daemons (bench/latency.js --parts first, 8 trials each, one run, the same build with
// and without this call): median 5.83 ms, a+b CPU 5.77 without it, 4.71 / 5.03 with it.
//
// Set at run time rather than on node's command line, where it would change V8's flag hash before node loads its
// internal modules, which would then all compile without their built-in code cache. At run time it changes the hash
// too, for every script compiled after the call: node's internal modules the daemon first loads later (perf_hooks,
// cluster for the control socket's listen, http for UPnP, fs/promises, dns, readline: all within its first 1.5 s)
// would compile from source (7 such modules: 11-18 ms against ~4 with the cache, in process). So those are loaded
// first, with their cache (DAEMON_BUILTINS), and the flag set after. Start-up CPU of a daemon (to "Mesh node
// started", 12 alternating launches, load 1-2, medians): 62.5 ms without the flag, 64.6 with it, 61.4 with the
// preload first; to the warm-up's end 179 / 181 / 158 (noisy: spread 50-78 ms at start).
// V8 reads the flag when a function is first called (its feedback cell is made then), so setting it before the daemon
// starts covers the start-up handshakes, the warm-up and every contact after; functions called before it (the launcher,
// the command line's parsing) keep the lazy allocation. The price is a vector for each function the daemon ever calls,
// including those that run once at start: idle RSS 55.7 MiB against 54.5 without (bench/resources.js, one run; KiB per
// tunnel within its noise) (docs/state-machines.md, "How long").

import { setDaemonV8Flag } from './daemon-v8-flag.js';

const LAZY_FLAG = /^--(no-)?lazy[-_]feedback[-_]allocation$/;

/**
 * Node's modules a daemon loads in its first seconds that its bundle does not load at once (see above). A hand list:
 * test/unit/daemon-flag-builtins.test.ts starts the built daemon and fails on any built-in it loads after the flag.
 */
export const DAEMON_BUILTINS = ['perf_hooks', 'cluster', 'http', 'readline', 'fs/promises', 'dns'] as const;

/**
 * Turns V8's lazy feedback allocation off for the rest of the process's life. Returns false, changing nothing, in the
 * build's code-cache training run (its flags must stay as they started, pkg/launch/code-cache.ts) and when node's
 * command line or NODE_OPTIONS already sets the flag (an explicit choice, e.g. a benchmark's variant, wins).
 */
export function feedbackFromFirstCall(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  // Loaded anyway within seconds; now, while node's code cache still takes them. process.getBuiltinModule is node
  // 20.16's: an older node loads them later, without the cache.
  if (typeof process.getBuiltinModule === 'function') for (const id of DAEMON_BUILTINS) process.getBuiltinModule(id);
  return setDaemonV8Flag('--no-lazy-feedback-allocation', LAZY_FLAG, execArgv, env);
}
