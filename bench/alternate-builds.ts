// The in-process benches' way to compare builds within one run (bench/lh-datagram-cost.ts, bench/liveness-tick.ts):
// each build measured in a child process of its own (the bench's own script with `--child DIST`), the builds taking
// turns, their order reversed every other trial so neither always runs first, each child's result line printed
// under its build's name. bench/lone-packet.ts, which holds its builds in one process, reads the same --build specs.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export interface Build {
  readonly name: string;
  /** The build's dist folder, absolute. */
  readonly dist: string;
}

/**
 * `--build name=DIST` specs (none: this tree's dist, `thisDist`, as "this"). The name ends at the first '=', so a DIST
 * may hold '=' too; a spec without '=' or with an empty name or DIST is refused rather than measured as some other
 * folder.
 */
export function parseBuilds(specs: readonly string[], thisDist: string): Build[] {
  return (specs.length > 0 ? specs : [`this=${thisDist}`]).map((spec) => {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1) throw new Error(`--build ${JSON.stringify(spec)}: expected NAME=DIST`);
    return { name: spec.slice(0, at), dist: resolve(spec.slice(at + 1)) };
  });
}

/**
 * Runs `script --child DIST ...childArgs` for every build, `trials` rounds, and prints each child's output after its
 * build's name. Throws on a child that fails or takes over 5 minutes.
 */
export function alternateBuilds(script: string, builds: readonly Build[], trials: number, childArgs: string[]): void {
  for (let t = 0; t < trials; t++) {
    for (const b of t % 2 === 0 ? builds : [...builds].reverse()) {
      const args = [script, '--child', b.dist, ...childArgs];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 });
      if (r.status !== 0) throw new Error(`${b.name} failed (${r.status}):\n${r.stderr}`);
      console.log(`${b.name.padEnd(10)} ${r.stdout.trim()}`);
    }
  }
}
