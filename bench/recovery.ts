// Issue 15's recovery figures for mesh and nebula 1.6.1, measured in the same run on the same lab scenarios
// (test/e2e/lab/recovery-scenarios.ts): time to first reply after a move, a peer restart, an idle spell, and on a
// cold tunnel. Run as root after `make build`:
//
//   node dist/bench/recovery.js [rounds (default 2)] [scenario id substring …]
//
// MESH_MAIN=<another build's dist/bin/mesh.cjs> measures that build as mesh (a before/after comparison).
//
// Each scenario waits up to 30 s for the first reply, so slow recoveries show their real figure.

import { meshImpl } from '../test/e2e/lab/mesh-impl.js';
import { meshWithNodeArgs } from './bench-lab.js';
import { nebulaImpl } from '../test/e2e/lab/nebula-impl.js';
import type { OverlayImpl } from '../test/e2e/lab/overlay-node.js';
import { RECOVERY_SCENARIOS } from '../test/e2e/lab/recovery-scenarios.js';
import type { Scenario } from '../test/e2e/lab/recovery-scenarios.js';

const TIMEOUT_MS = 30_000;

async function figure(scenario: Scenario, impl: OverlayImpl): Promise<string> {
  try {
    const { ms } = await scenario.run(impl, { timeoutMs: TIMEOUT_MS });
    return ms === null ? `none in ${TIMEOUT_MS / 1000} s` : String(ms);
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 2);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20)
    throw new Error(`rounds must be 1..20, got ${process.argv[2]}`);
  const filters = process.argv.slice(3);
  const scenarios = RECOVERY_SCENARIOS.filter((s) => filters.length === 0 || filters.some((f) => s.id.includes(f)));
  const mesh = process.env.MESH_MAIN
    ? { ...meshWithNodeArgs([], process.env.MESH_MAIN), name: `mesh (${process.env.MESH_MAIN})` }
    : meshImpl;
  const impls = [mesh, nebulaImpl];
  console.log(
    `Time to first reply (ms), 10 Hz overlay ping, ${rounds} round(s); recovery goal <= 2000 ms, first reply on a LAN <= 30 ms`,
  );
  console.log(`| scenario | kind | ${impls.map((i) => `${i.name} ms`).join(' | ')} |`);
  console.log(`|---|---|${impls.map(() => '---').join('|')}|`);
  for (const scenario of scenarios) {
    const cells: string[][] = impls.map(() => []);
    for (let round = 0; round < rounds; round++) {
      // Alternate which implementation goes first, so neither always runs on a freshly idle machine.
      const order = round % 2 === 0 ? impls.map((_, i) => i) : impls.map((_, i) => impls.length - 1 - i);
      for (const i of order) cells[i].push(await figure(scenario, impls[i]));
    }
    console.log(`| ${scenario.title} | ${scenario.kind} | ${cells.map((c) => c.join(', ')).join(' | ')} |`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
