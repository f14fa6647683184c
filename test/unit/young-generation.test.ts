import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';

import { capYoungGeneration } from '../../pkg/daemon/young-generation.js';

// The daemon keeps V8's young generation at its start-up size: a burst of surviving allocations (what a burst of
// handshakes looks like to the heap) must not grow it.

const newSpaceBytes = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? -1;

test('after capYoungGeneration a burst of long-lived allocations does not grow the young generation', () => {
  const before = newSpaceBytes();
  assert.ok(before > 0);
  capYoungGeneration({ amLighthouse: false, udp: { onBatchEnd() {} } });
  const kept: unknown[] = [];
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 20_000; i++) kept.push({ i, list: [i] });
    if (kept.length > 200_000) kept.splice(0, 100_000);
  }
  assert.ok(kept.length > 0);
  // Uncapped, this loop grows it from 1 to 32 MiB; capped it stays at its first size (both semi-spaces once used).
  assert.ok(newSpaceBytes() <= 2 * before, `young generation grew from ${before} to ${newSpaceBytes()} bytes`);
});

// A lighthouse's young generation is left to V8 (pkg/daemon/young-generation.ts): in a process of its own, since
// the flag capYoungGeneration sets is global.
function grownInChild(call: string, env: NodeJS.ProcessEnv = {}): { before: number; after: number } {
  const moduleUrl = new URL('../../pkg/daemon/young-generation.js', import.meta.url).href;
  const script = `
    const { getHeapSpaceStatistics } = await import('node:v8');
    const { capYoungGeneration } = await import(${JSON.stringify(moduleUrl)});
    const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const before = size();
    ${call};
    const kept = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 20000; i++) kept.push({ i, list: [i] });
      if (kept.length > 200000) kept.splice(0, 100000);
    }
    console.log(JSON.stringify({ before, after: size() }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, MESH_YOUNG_CAP: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim()) as { before: number; after: number };
}

test("a lighthouse's young generation grows in a burst of long-lived allocations; MESH_YOUNG_CAP=1 caps it", () => {
  const lighthouse = grownInChild('capYoungGeneration({ amLighthouse: true, udp: { onBatchEnd() {} } })');
  assert.ok(lighthouse.after > 4 * lighthouse.before, `grew from ${lighthouse.before} to ${lighthouse.after} bytes`);
  const node = grownInChild('capYoungGeneration({ amLighthouse: false, udp: { onBatchEnd() {} } })');
  assert.ok(node.after <= 2 * node.before, `a node's grew from ${node.before} to ${node.after} bytes`);
  const capped = grownInChild('capYoungGeneration({ amLighthouse: true, udp: { onBatchEnd() {} } })', {
    MESH_YOUNG_CAP: '1',
  });
  assert.ok(capped.after <= 2 * capped.before, `capped, grew from ${capped.before} to ${capped.after} bytes`);
});
