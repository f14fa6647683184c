import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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
  await turn();
  batch.add(Uint8Array.of(5));
  batch.add(Uint8Array.of(6));
  await turn();
  assert.deepEqual(tun.calls, [[1, 2], [3], [4], [5, 6]]);
});

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

test('a written packet is not kept alive by the batch (its slot is reused, not left holding it)', async () => {
  const tun = recordingTun();
  const batch = new TunBatch(tun, ctx);
  // The packet lives only inside this function: afterwards only the batch could still reach it.
  const gone = ((): WeakRef<Uint8Array> => {
    const packet = new Uint8Array(1500).fill(7);
    batch.add(packet);
    return new WeakRef(packet);
  })();
  await turn();
  assert.deepEqual(tun.calls, [[7]]);
  for (let i = 0; i < 5 && gone.deref() !== undefined; i++) {
    await turn();
    gc();
  }
  assert.equal(gone.deref(), undefined, 'the batch still holds the written packet');
});
