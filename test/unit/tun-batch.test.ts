import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DataPathContext } from '../../pkg/datapath/context.js';
import { TunBatch } from '../../pkg/datapath/tun-batch.js';

// The outside pipeline's TUN batch (pkg/datapath/tun-batch.ts): the packets of one turn go to the device in one
// writeBatch call at the turn's end; each turn's call carries that turn's packets and no others (the batch reuses
// its arrays from turn to turn).

const ctx = {} as DataPathContext; // used only when a write throws

function recordingTun(): { calls: number[][]; writeBatch(packets: readonly Uint8Array[]): number; write(): void } {
  const calls: number[][] = [];
  return {
    calls,
    writeBatch(packets) {
      calls.push(packets.map((p) => p[0]));
      return packets.length;
    },
    write() {
      assert.fail('the batch writes through writeBatch');
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("one writeBatch per turn, each with exactly that turn's packets, in order", async () => {
  const tun = recordingTun();
  const batch = new TunBatch(tun, ctx);
  batch.add(Uint8Array.of(1));
  batch.add(Uint8Array.of(2));
  assert.deepEqual(tun.calls, [], 'nothing written before the turn ends');
  await turn();
  batch.add(Uint8Array.of(3));
  await turn();
  await turn();
  batch.add(Uint8Array.of(4));
  batch.add(Uint8Array.of(5));
  await turn();
  assert.deepEqual(tun.calls, [[1, 2], [3], [4, 5]]);
});
