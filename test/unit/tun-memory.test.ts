import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PacketBatch } from '../../pkg/tun/device.js';
import { TunError } from '../../pkg/tun/errors.js';
import { MemoryTun } from '../../pkg/tun/memory.js';

const packet = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

test('an injected packet reaches onPackets as a batch of one with the same bytes', () => {
  const tun = new MemoryTun();
  const seen: number[][] = [];
  tun.onPackets((batch) => seen.push(...batch.map((p) => [...p])));
  tun.inject(packet(0x45, 1, 2, 3));
  assert.deepEqual(seen, [[0x45, 1, 2, 3]]);
  assert.equal(tun.stats.readPackets, 1);
  assert.equal(tun.stats.readBatches, 1);
});

test('injectBatch delivers all its packets in one callback', () => {
  const tun = new MemoryTun();
  const sizes: number[] = [];
  tun.onPackets((batch) => sizes.push(batch.length));
  tun.injectBatch([packet(1), packet(2, 2), packet(3, 3, 3)]);
  assert.deepEqual(sizes, [3]);
});

test('packets injected before anyone listens wait, like the kernel queue, and arrive as one batch', () => {
  const tun = new MemoryTun();
  tun.inject(packet(1));
  tun.inject(packet(2));
  const batches: number[][][] = [];
  tun.onPackets((batch) => batches.push(batch.map((p) => [...p])));
  assert.deepEqual(batches, [[[1], [2]]]);
});

test('a consumer that keeps a view past the callback sees poisoned bytes, as the ownership contract warns', () => {
  const tun = new MemoryTun();
  let kept: PacketBatch = [];
  let copied: Uint8Array = new Uint8Array(0);
  tun.onPackets((batch) => {
    kept = [...batch];
    copied = batch[0].slice();
  });
  tun.inject(packet(0x45, 0, 0, 20));
  assert.deepEqual([...copied], [0x45, 0, 0, 20]);
  assert.deepEqual([...kept[0]], [0xee, 0xee, 0xee, 0xee]);
});

test('write keeps a copy, so the caller may reuse its buffer at once', () => {
  const tun = new MemoryTun();
  const buf = packet(0x45, 9, 9);
  tun.write(buf);
  buf.fill(0);
  assert.deepEqual(
    tun.written.map((p) => [...p]),
    [[0x45, 9, 9]],
  );
  assert.equal(tun.stats.writtenPackets, 1);
});

test('writeBatch writes every packet in order and reports them all accepted', () => {
  const tun = new MemoryTun();
  const heard: number[] = [];
  tun.onWrite((p) => heard.push(p[0]));
  assert.equal(tun.writeBatch([packet(1), packet(2), packet(3)]), 3);
  assert.deepEqual(
    tun.written.map((p) => p[0]),
    [1, 2, 3],
  );
  assert.deepEqual(heard, [1, 2, 3]);
});

test('after close, writes throw ETUNCLOSED and injected packets are dropped', async () => {
  const tun = new MemoryTun({ name: 'mem7', mtu: 1400 });
  let delivered = 0;
  tun.onPackets(() => delivered++);
  await tun.close();
  await tun.close();
  tun.inject(packet(1));
  assert.equal(delivered, 0);
  assert.throws(
    () => tun.write(packet(1)),
    (e: unknown) => e instanceof TunError && e.code === 'ETUNCLOSED',
  );
  assert.equal(tun.name, 'mem7');
  assert.equal(tun.mtu, 1400);
});
