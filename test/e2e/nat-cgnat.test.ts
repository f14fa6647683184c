import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { loadNote } from './lab/load.js';
import { meshImpl } from './lab/mesh-impl.js';
import { natLevelsPair, type Levels } from './lab/nat-levels.js';

// Carrier-grade NAT (issue 16, section 3): a home router behind the provider's NAT. A low-TTL punch must open the
// outermost NAT and die before the far side's; mesh learns the TTL from its lighthouse's second port. Goal: direct
// in both orders with one or two levels on each side, and at once: before punchy.delay's full-TTL punch, which opens
// every NAT on its own. Nebula 1.6.1's figures from the same lab: bench/nat-report.ts.

const cases: Array<[Levels, Levels, 'a' | 'b']> = [
  [2, 1, 'a'],
  [2, 1, 'b'],
  [2, 2, 'a'],
  [2, 2, 'b'],
];

for (const [la, lb, first] of cases) {
  test(`mesh: a behind ${la} NATs, b behind ${lb}, ${first} speaks first: direct`, async (t) => {
    const lab = await Lab.create(t);
    const r = await natLevelsPair(lab, meshImpl, la, lb, first);
    t.diagnostic(
      `${la}x${lb} ${first} first: ${r.path}; first reply ${r.firstReplyMs.toFixed(0)} ms, direct after ${r.directAfterMs?.toFixed(0)} ms; punch ttl a=${r.punchTtl.a} b=${r.punchTtl.b}`,
    );
    assert.equal(r.punchTtl.a, la + 1, lab.logTails(30));
    assert.equal(r.punchTtl.b, lb + 1, lab.logTails(30));
    assert.equal(r.path, 'direct', lab.logTails(40));
    // Direct before punchy.delay (1 s in the lab) sends the full-TTL punch that opens every NAT anyway: so the path
    // came from the low-TTL punch. With the old fixed TTL 2 it took 1370-1384 ms in every case but 2x1 a first.
    assert.ok(
      r.directAfterMs !== null && r.directAfterMs < 1000,
      `direct only after ${r.directAfterMs} ms (${loadNote()})\n${lab.logTails(40)}`,
    );
  });
}

// Cold start: the first ping goes as soon as both nodes are up, before they measured their NAT (a few hundred ms).
// The first punches go with the default TTL 2; once the TTL is learned, a tunnel that came up over the relay tries
// direct with it at once (PathFinder.punchTtlLearned). Without that: direct only after 1.3-1.4 s.
for (const [la, lb] of [
  [2, 1],
  [2, 2],
] as Array<[Levels, Levels]>) {
  test(`mesh, cold start: a behind ${la} NATs, b behind ${lb}, b speaks first at once: direct within 1000 ms`, async (t) => {
    const lab = await Lab.create(t);
    const r = await natLevelsPair(lab, meshImpl, la, lb, 'b', 8000, 'cold');
    t.diagnostic(
      `${la}x${lb} b first, cold: ${r.path}; first reply ${r.firstReplyMs.toFixed(0)} ms, direct after ${r.directAfterMs?.toFixed(0)} ms`,
    );
    assert.equal(r.path, 'direct', lab.logTails(40));
    assert.ok(
      r.directAfterMs !== null && r.directAfterMs < 1000,
      `direct only after ${r.directAfterMs} ms (${loadNote()})\n${lab.logTails(40)}`,
    );
  });
}
