import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';

import type { PacketBatch } from '../../pkg/tun/device.js';
import { TunPair } from '../../pkg/tun/socketpair.js';

// The TUN stand-in the warm-up runs its throwaway nodes on (pkg/tun/socketpair.ts): a LinuxTun on one end of a
// socketpair, driven from the other. Packets keep their boundaries both ways, and closing leaves nothing behind.

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits, a turn at a time and at most `turns` of them, until `done` holds. */
async function until(done: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await turn();
  assert.ok(done(), 'not within the bound');
}

function packet(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

test('injected packets reach the TUN reader whole, and what the node writes reaches the driving end whole', async () => {
  const descriptors = readdirSync('/proc/self/fd').length;
  const pair = TunPair.open('sp-test', 1300);
  const read: number[][] = [];
  pair.tun.onPackets((batch: PacketBatch) => {
    for (const p of batch) read.push([p.byteLength, p[0], p[p.byteLength - 1]]);
  });
  pair.inject(packet(60, 1));
  pair.inject(packet(1300, 2));
  await until(() => read.length === 2);
  assert.deepEqual(read, [
    [60, 1, 1],
    [1300, 2, 2],
  ]);

  const written: number[][] = [];
  pair.onWrite((p) => written.push([p.byteLength, p[0]]));
  pair.tun.write(packet(40, 3));
  assert.equal(pair.tun.writeBatch([packet(100, 4), packet(28, 5)]), 2);
  await until(() => pair.written === 3);
  assert.deepEqual(written, [
    [40, 3],
    [100, 4],
    [28, 5],
  ]);
  assert.equal(pair.tun.stats.writtenPackets, 3);

  await pair.close();
  await pair.close();
  assert.equal(readdirSync('/proc/self/fd').length, descriptors, 'both ends closed');
});

test("the node's end closing first stops the driving end's reader instead of waking it on every turn", async () => {
  const pair = TunPair.open('sp-test', 1300);
  let calls = 0;
  pair.onWrite(() => calls++);
  // As a node's stop does: its TUN closes while the driving end still reads.
  await pair.tun.close();
  for (let i = 0; i < 50; i++) await turn();
  assert.equal(calls, 0, 'end of file is no packet');
  assert.equal(pair.written, 0);
  // The addon's poll handle is not among node's active resources: the reader's own field tells.
  assert.equal((pair as unknown as { poll: unknown }).poll, null, 'the reader stopped at end of file');
  await pair.close();
});
