import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadNote } from './lab/load.js';
import { meshImpl } from './lab/mesh-impl.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { moveBehindPeersNat } from './lab/recovery-scenarios.js';

// Issue 15, case 1: c moves from behind router A to a second LAN of router B, which is also the NAT of its peer b;
// B neither hairpins nor routes between its LANs, so after the move only the relay (the lighthouse) joins c and b.
// c's direct path goes dead; its tunnel must fail over to the relay within 1 s and traffic be back within 2 s,
// whichever side pings (the issue measured 20.0 s with c pinging, 0.43 s with b pinging).
// MESH_MEASURE_NEBULA=1 also prints nebula 1.6.1's figure from the same lab (not asserted).

const GOAL_MS = 2000;

for (const sender of ['mover', 'peer'] as const) {
  test(
    `moved behind the peer's own NAT (no hairpin, no route between LANs), ${sender} pings: traffic back within ${GOAL_MS} ms`,
    { timeout: 90_000 },
    async (t) => {
      const r = await moveBehindPeersNat(meshImpl, sender, { scope: t, timeoutMs: 5000 });
      t.diagnostic(`mesh: ${r.ms === null ? 'no reply within 5000 ms' : `${r.ms} ms`} (${r.detail.split('\n')[0]})`);
      if (process.env.MESH_MEASURE_NEBULA === '1') {
        const n = await moveBehindPeersNat(nebulaImpl, sender, { scope: t, timeoutMs: 25_000 });
        t.diagnostic(`nebula 1.6.1: ${n.ms === null ? 'no reply within 25000 ms' : `${n.ms} ms`}`);
      }
      assert.ok(
        r.ms !== null && r.ms <= GOAL_MS,
        `first reply ${r.ms} ms after the move, goal ${GOAL_MS} ms (${loadNote()})\n${r.detail}`,
      );
    },
  );
}
