import assert from 'node:assert/strict';
import { test } from 'node:test';

import { meshImpl } from './lab/mesh-impl.js';
import { loadNote } from './lab/load.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { dualStackPeers, twoBehindOneNat, type ScenarioResult } from './lab/recovery-scenarios.js';

// Issue 15, section 4: no needless waiting on the first packet. A cold tunnel's first ping reply, between two mesh
// nodes that a public lighthouse introduces: stage 1 goes at once to an address with no NAT of the peer's in the
// way (the shared LAN; a global IPv6 address the peer reported) instead of after the 100 ms punch settle that a
// NATed public address needs. Before the change: 141-156 ms (one NAT) in this lab. The goal is <= 10 ms; the
// assertion allows 30 ms because CI machines are loaded. Nebula 1.6.1 runs the same labs for comparison (printed,
// not asserted).

const GOAL_MS = 30;

function report(t: { diagnostic(msg: string): void }, what: string, r: ScenarioResult): void {
  t.diagnostic(`${what}: first reply ${r.ms === null ? 'none' : `${r.ms} ms`} (${r.detail.split('\n')[0]})`);
}

test(
  `two mesh nodes behind one masquerading NAT: first reply on a cold tunnel within ${GOAL_MS} ms; nebula 1.6.1 measured alongside`,
  { timeout: 90_000 },
  async (t) => {
    const mesh = await twoBehindOneNat(meshImpl, { scope: t, timeoutMs: 3000 });
    report(t, 'mesh', mesh);
    const nebula = await twoBehindOneNat(nebulaImpl, { scope: t, timeoutMs: 3000 });
    report(t, 'nebula 1.6.1', nebula);
    assert.ok(
      mesh.ms !== null && mesh.ms <= GOAL_MS,
      `mesh first reply ${mesh.ms} ms, goal ${GOAL_MS} ms (nebula 1.6.1: ${nebula.ms} ms; ${loadNote()})\n${mesh.detail}`,
    );
  },
);

test(
  `dual-stack mesh peers behind two NATs with unfiltered global IPv6: first reply on a cold tunnel within ${GOAL_MS} ms; nebula 1.6.1 measured alongside`,
  { timeout: 90_000 },
  async (t) => {
    const mesh = await dualStackPeers(meshImpl, { scope: t, timeoutMs: 3000 });
    report(t, 'mesh', mesh);
    const nebula = await dualStackPeers(nebulaImpl, { scope: t, timeoutMs: 3000 });
    report(t, 'nebula 1.6.1', nebula);
    assert.ok(
      mesh.ms !== null && mesh.ms <= GOAL_MS,
      `mesh first reply ${mesh.ms} ms, goal ${GOAL_MS} ms (nebula 1.6.1: ${nebula.ms} ms; ${loadNote()})\n${mesh.detail}`,
    );
  },
);
