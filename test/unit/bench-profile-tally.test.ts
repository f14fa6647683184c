import assert from 'node:assert/strict';
import { test } from 'node:test';

import { tallyProfile, type Profile, type ProfileNode } from '../../bench/profile-tally.js';

// bench/profile-summary.js's figures (self and inclusive time per function, within a --from-s/--to-s window) on a
// profile small enough to add up by hand: a wrong window or a recursive function counted twice would move CPU
// between functions in every profile read since.

const URL = 'file:///work/main/dist/bench/a.js';
const node = (id: number, functionName: string, url: string, lineNumber: number, children: number[]): ProfileNode => ({
  id,
  callFrame: { functionName, url, lineNumber },
  children,
});

// (root) -> main -> f -> f (recursion); (root) -> (idle). One sample every 1000 us, at 1000..5000 us.
const PROFILE: Profile = {
  nodes: [
    node(1, '(root)', '', -1, [2, 5]),
    node(2, 'main', URL, 0, [3]),
    node(3, 'f', URL, 9, [4]),
    node(4, 'f', URL, 9, []),
    node(5, '(idle)', '', -1, []),
  ],
  samples: [4, 3, 5, 2, 4],
  timeDeltas: [1000, 1000, 1000, 1000, 1000],
};
const F = 'f bench/a.js:10';
const MAIN = 'main bench/a.js:1';

test('self time per function, both nodes of a recursive function under one name; inclusive counts it once a sample', () => {
  const all = tallyProfile(PROFILE, { fromUs: 0, toUs: Infinity, inclusive: true });
  assert.deepEqual(
    Object.fromEntries(all.self),
    { [F]: 3000, '(idle)': 1000, [MAIN]: 1000 },
    'samples 1 and 5 in the inner f, 2 in the outer',
  );
  assert.equal(all.totalUs, 5000);
  assert.equal(all.idleUs, 1000);
  assert.deepEqual(all.span, { firstUs: 1000, lastUs: 5000 });
  assert.deepEqual(Object.fromEntries(all.inclusive), { [F]: 3000, [MAIN]: 4000, '(root)': 4000 });
  assert.equal(tallyProfile(PROFILE, { fromUs: 0, toUs: Infinity, inclusive: false }).inclusive.size, 0);
});

test('only the samples taken within the window count, its ends included; an empty window has no span', () => {
  const window = tallyProfile(PROFILE, { fromUs: 2000, toUs: 4000, inclusive: true });
  assert.deepEqual(Object.fromEntries(window.self), { [F]: 1000, '(idle)': 1000, [MAIN]: 1000 });
  assert.equal(window.totalUs, 3000);
  assert.deepEqual(window.span, { firstUs: 2000, lastUs: 4000 });
  assert.deepEqual(Object.fromEntries(window.inclusive), { [F]: 1000, [MAIN]: 2000, '(root)': 2000 });
  const empty = tallyProfile(PROFILE, { fromUs: 5500, toUs: Infinity, inclusive: false });
  assert.equal(empty.span, null);
  assert.equal(empty.totalUs, 0);
});
