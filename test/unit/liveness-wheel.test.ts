import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LivenessWheel, SLOT_MS } from '../../pkg/datapath/liveness-wheel.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { seededRandom } from './helpers/seeded-random.js';

// The wheel only reads checkAt; a plain object stands in for a tunnel.
function host(checkAt: number): HostInfo {
  return { checkAt } as HostInfo;
}

test('a filed host is visited once, at the first take at or after its checkAt, not before', () => {
  const wheel = new LivenessWheel();
  const h = host(5_400);
  wheel.schedule(h);
  const seen: HostInfo[] = [];
  wheel.takeDue(5_000, (x) => seen.push(x));
  wheel.takeDue(5_399, (x) => seen.push(x));
  assert.equal(seen.length, 0, 'not due yet, though its slot is the current one');
  wheel.takeDue(5_400, (x) => seen.push(x));
  assert.deepEqual(seen, [h]);
  wheel.takeDue(9_000, (x) => seen.push(x));
  assert.deepEqual(seen, [h], 'taken out once visited');
  assert.equal(wheel.size, 0);
});

test('a visit may file the host again, into its own slot or a later one', () => {
  const wheel = new LivenessWheel();
  const h = host(1_000);
  wheel.schedule(h);
  let visits = 0;
  const refile = (x: HostInfo): void => {
    visits++;
    x.checkAt += 300; // still slot 1 the first time: filed again beside hosts of that slot not due yet
    wheel.schedule(x);
  };
  wheel.schedule(host(1_900));
  wheel.takeDue(1_000, refile);
  assert.equal(visits, 1);
  assert.equal(wheel.size, 2);
  wheel.takeDue(1_299, refile);
  assert.equal(visits, 1);
  wheel.takeDue(1_300, refile);
  assert.equal(visits, 2);
});

test('a filed host whose check was cleared (checkAt 0) is dropped without a visit', () => {
  const wheel = new LivenessWheel();
  const h = host(2_000);
  wheel.schedule(h);
  h.checkAt = 0;
  let visits = 0;
  wheel.takeDue(10_000, () => visits++);
  assert.equal(visits, 0);
  assert.equal(wheel.size, 0);
});

test('seeded: the wheel visits exactly the hosts a walk over all of them would find due, each once', () => {
  const random = seededRandom(0x11fe);
  const wheel = new LivenessWheel();
  // The reference: every host filed and not yet visited.
  const filed = new Set<HostInfo>();
  let now = 1_000_000;
  for (let step = 0; step < 2000; step++) {
    for (let i = Math.floor(random() * 20); i > 0; i--) {
      const h = host(now + 1 + Math.floor(random() * 6 * SLOT_MS));
      wheel.schedule(h);
      filed.add(h);
    }
    now += Math.floor(random() * 1.5 * SLOT_MS);
    const expected = [...filed].filter((h) => h.checkAt <= now);
    const visited: HostInfo[] = [];
    wheel.takeDue(now, (h) => {
      visited.push(h);
      // Half the checks fail and schedule a later one, as liveness.ts does.
      if (random() < 0.5) {
        h.checkAt = now + 1 + Math.floor(random() * 3 * SLOT_MS);
        wheel.schedule(h);
      } else {
        h.checkAt = 0;
        filed.delete(h);
      }
    });
    assert.equal(new Set(visited).size, visited.length, `step ${step}: a host visited twice`);
    assert.deepEqual(new Set(visited), new Set(expected), `step ${step}`);
    assert.equal(wheel.size, filed.size, `step ${step}: hosts filed`);
  }
});

test('a visit that throws takes only its own host: the rest of the slot and later due slots stay filed', () => {
  const wheel = new LivenessWheel();
  const first = host(2_100);
  const second = host(2_200);
  const later = host(3_100);
  const notDue = host(3_900);
  for (const h of [first, second, later, notDue]) wheel.schedule(h);
  assert.throws(
    () =>
      wheel.takeDue(3_500, (x) => {
        if (x === first) throw new Error('send failed');
      }),
    /send failed/,
  );
  assert.equal(wheel.size, 3, 'only the host the visit threw for is out');
  const seen: HostInfo[] = [];
  wheel.takeDue(3_500, (x) => seen.push(x));
  assert.deepEqual(seen, [second, later]);
  assert.equal(wheel.size, 1, 'the host not due yet stays');
});
