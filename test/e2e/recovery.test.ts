import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadNote } from './lab/load.js';
import { meshImpl } from './lab/mesh-impl.js';
import type { OverlayImpl } from './lab/overlay-node.js';
import { RECOVERY_SCENARIOS } from './lab/recovery-scenarios.js';

// Issue 15: traffic back within 2 s after any change, whichever side sends first, and no needless wait on a first
// packet (first reply on a LAN within 30 ms). One run of each lab scenario with mesh; each prints its figure.
// bench/recovery.ts runs the same scenarios for mesh and nebula 1.6.1 side by side.
//
// A goal whose mechanism has not landed yet is a todo (reported, not failing) naming what it waits for.

const TODO: Record<string, string> = {};

// MESH_RECOVERY_MAIN=<another build's dist/bin/mesh.cjs> runs the same assertions against that build (the
// pre-issue-15 build fails all ten).
const otherBuild = process.env.MESH_RECOVERY_MAIN;
const mesh: OverlayImpl = otherBuild
  ? { ...meshImpl, command: (configPath) => ({ cmd: otherBuild, args: ['-config', configPath] }) }
  : meshImpl;

for (const scenario of RECOVERY_SCENARIOS) {
  const todo = TODO[scenario.id];
  test(
    `${scenario.title}: ${scenario.kind} within ${scenario.goalMs} ms (mesh)`,
    { timeout: 60_000, ...(todo ? { todo } : {}) },
    async (t) => {
      const result = await scenario.run(mesh, { scope: t, timeoutMs: scenario.kind === 'first reply' ? 3000 : 5000 });
      t.diagnostic(
        `${scenario.id}: ${result.ms === null ? 'no reply' : `${result.ms} ms`} (${result.detail.split('\n')[0]})`,
      );
      assert.ok(
        result.ms !== null && result.ms <= scenario.goalMs,
        `${scenario.kind} ${result.ms} ms, goal ${scenario.goalMs} ms (${loadNote()})\n${result.detail}`,
      );
    },
  );
}
