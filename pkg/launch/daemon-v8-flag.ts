// The one way the daemon sets a V8 flag of its own at run time (eager-feedback.ts, tier-up.ts): never in the build's
// code-cache training run, never over a choice node's command line or NODE_OPTIONS already made.
//
// A flag set at run time still changes V8's flag hash: every script compiled after the call, node's own internal
// modules included, misses its code cache (docs/state-machines.md, "How long"). Callers pick their moment for that.

import { setFlagsFromString } from 'node:v8';
import { WRITE_CODE_CACHE_ENV } from './code-cache.js';

/**
 * Sets `flag` for the rest of the process's life. Returns false, changing nothing, in the build's code-cache training
 * run (its flags must stay as they started, pkg/launch/code-cache.ts) and when an argument of node's command line
 * (`execArgv`) or of NODE_OPTIONS matches `given` (an explicit choice, e.g. a benchmark's variant, wins).
 */
export function setDaemonV8Flag(
  flag: string,
  given: RegExp,
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
): boolean {
  if (env[WRITE_CODE_CACHE_ENV] === '1') return false;
  if (execArgv.some((arg) => given.test(arg))) return false;
  // NODE_OPTIONS does not show in execArgv. Split on white space only: node's own quoting matters for values, and
  // the daemon's flags have no spaces.
  if ((env.NODE_OPTIONS ?? '').split(/\s+/).some((arg) => given.test(arg))) return false;
  setFlagsFromString(flag);
  return true;
}
