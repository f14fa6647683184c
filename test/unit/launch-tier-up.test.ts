import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { tierUpSooner } from '../../pkg/launch/tier-up.js';

// The daemon lowers V8's interrupt budget at run time so its hot functions are optimized after a few hundred bytes
// of bytecode runs, not tens of thousands. Checked in a child node (V8's flags are per process), which reads the
// function's tier with a V8 intrinsic.

const TIER_UP = fileURLToPath(new URL('../../pkg/launch/tier-up.js', import.meta.url));

/** Runs a ~300-byte-bytecode function `calls` times in a fresh node, after tierUpSooner() if `lower`; true once V8 queued or finished its optimization. */
function tieredUp(lower: boolean, calls: number): boolean {
  const script = `
    import { tierUpSooner } from ${JSON.stringify(TIER_UP)};
    if (${lower}) tierUpSooner([], {});
    const body = Array.from({ length: 40 }, (_, i) => 's = (s + a[' + (i % 16) + '] * ' + (i + 1) + ') | 0;').join('\\n');
    const hot = new Function('a', 'let s = 0;\\n' + body + '\\nreturn s;');
    const buf = new Uint8Array(16);
    for (let i = 0; i < ${calls}; i++) hot(buf);
    // V8's optimization status bits: optimized 16, turbofanned 64, marked (2 kinds) 256 and 512, compiling 1024.
    process.stdout.write(String((%GetOptimizationStatus(hot) & (16 | 64 | 256 | 512 | 1024)) !== 0));
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout === 'true';
}

test('after tierUpSooner a function 200 calls hot is being optimized; with V8 default budget it is not', () => {
  assert.equal(tieredUp(false, 200), false, 'the default budget already optimizes it: the check proves nothing');
  assert.equal(tieredUp(true, 200), true);
});

test('tierUpSooner leaves the flags alone in the code-cache training run and when the command line sets the budget', () => {
  assert.equal(tierUpSooner([], { MESH_WRITE_CODE_CACHE: '1' }), false);
  assert.equal(tierUpSooner(['--interrupt-budget=8192'], {}), false);
  assert.equal(tierUpSooner(['--interrupt_budget=8192'], {}), false);
});

test('tierUpSooner leaves the budget alone when NODE_OPTIONS sets it, among other options', () => {
  assert.equal(tierUpSooner([], { NODE_OPTIONS: '--interrupt-budget=8192' }), false);
  assert.equal(tierUpSooner([], { NODE_OPTIONS: '--max-old-space-size=512  --interrupt_budget=8192 ' }), false);
  assert.equal(tierUpSooner([], { NODE_OPTIONS: '--no-interrupt-budget' }), false);
});

test('the budget is lowered when NODE_OPTIONS has other options only', () => {
  // In a child: the flag it sets is process-wide.
  const script = `
    import { tierUpSooner } from ${JSON.stringify(TIER_UP)};
    process.stdout.write(String(tierUpSooner([], { NODE_OPTIONS: '--max-old-space-size=512 --trace-warnings' })));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'true');
});
