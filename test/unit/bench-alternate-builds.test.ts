import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';

import { parseBuilds } from '../../bench/alternate-builds.js';

// bench/alternate-builds.ts reads the in-process benches' `--build NAME=DIST` specs (liveness-tick, lh-datagram-cost,
// lone-packet): a spec read wrong measures another folder than the one named, silently.

test('a build spec is its name up to the first = and the folder after it, = included', () => {
  assert.deepEqual(parseBuilds(['before=/tmp/x=y/dist', 'now=dist'], '/unused'), [
    { name: 'before', dist: '/tmp/x=y/dist' },
    { name: 'now', dist: resolve('dist') },
  ]);
  assert.deepEqual(parseBuilds([], '/work/dist'), [{ name: 'this', dist: '/work/dist' }]);
});

test('a build spec without a name, a folder or an = is refused', () => {
  for (const spec of ['/tmp/before/dist', '=/tmp/before/dist', 'before=', ''])
    assert.throws(() => parseBuilds([spec], '/unused'), /expected NAME=DIST/, spec);
});
