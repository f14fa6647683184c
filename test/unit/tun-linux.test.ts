// LinuxTun's batching and bookkeeping over a fake addon: no kernel, no root.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TunAddon, TunPollHandle } from '../../pkg/native/addon.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { TunError } from '../../pkg/tun/errors.js';
import { LinuxTun } from '../../pkg/tun/linux.js';

class FakeAddon implements TunAddon {
  calls: string[] = [];
  poll: { buf: Uint8Array; lens: Uint32Array; slotSize: number; cb: (err: Error | null, n: number) => void } | null =
    null;
  batches: { buf: Uint8Array; offsets: number[]; lens: number[] }[] = [];
  writeResult = 1;
  accept = Infinity;
  /** Joined writes the next tun_writev_batch reports as refused by the kernel. */
  refuse = 0;

  tun_open(): { fd: number; name: string } {
    return { fd: 7, name: 'fake0' };
  }
  tun_close(fd: number): void {
    this.calls.push(`close ${fd}`);
  }
  tun_write(_fd: number, _buf: Uint8Array, _off: number, _len: number): number {
    return this.writeResult;
  }
  tun_writev_batch(
    _fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lens: Uint32Array,
    count: number,
    refusals?: Uint32Array,
  ): number {
    this.batches.push({ buf, offsets: [...offsets.subarray(0, count)], lens: [...lens.subarray(0, count)] });
    if (refusals !== undefined) refusals[0] += this.refuse;
    return Math.min(count, this.accept);
  }
  tun_poll_start(
    _fd: number,
    buf: Uint8Array,
    lens: Uint32Array,
    slotSize: number,
    cb: (err: Error | null, n: number) => void,
  ): TunPollHandle {
    this.calls.push('poll start');
    this.poll = { buf, lens, slotSize, cb };
    return {} as TunPollHandle;
  }
  tun_poll_stop(): void {
    this.calls.push('poll stop');
  }

  /** Plays the C side: fills slots and calls back once. */
  readable(packets: number[][]): void {
    const p = this.poll!;
    packets.forEach((bytes, i) => {
      p.buf.set(bytes, i * p.slotSize);
      p.lens[i] = bytes.length;
    });
    p.cb(null, packets.length);
  }
}

test('reading starts only when a consumer registers', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  assert.deepEqual(addon.calls, []);
  tun.onPackets(() => {});
  tun.onPackets(() => {});
  assert.deepEqual(addon.calls, ['poll start']);
});

test('each readable callback becomes one batch of views with the kernel lengths', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300, { batchSize: 8 });
  const seen: number[][][] = [];
  tun.onPackets((batch) => seen.push(batch.map((p) => [...p])));
  addon.readable([[0x45, 1], [0x45, 2, 2], [0x45]]);
  addon.readable([[0x45, 9]]);
  assert.deepEqual(seen, [[[0x45, 1], [0x45, 2, 2], [0x45]], [[0x45, 9]]]);
  assert.equal(addon.poll!.slotSize, 1344, 'slots are the MTU rounded up with room to spot oversize packets');
  assert.equal(addon.poll!.buf.length, 8 * 1344);
  assert.deepEqual(tun.stats, { readPackets: 4, readBatches: 2, writtenPackets: 0, writeDrops: 0, joinRefusals: 0 });
});

test('a batch kept past its callback holds no packet bytes (its slots are emptied)', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  let kept: readonly Uint8Array[] = [];
  tun.onPackets((batch) => {
    kept = batch;
  });
  addon.readable([[1], [2]]);
  assert.deepEqual(
    kept.map((p) => p.byteLength),
    [0, 0],
  );
});

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Bytes in V8's new space, where short-lived objects go. */
function newSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
}

test('a one-packet read leaves its view as garbage, not a new array store', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  let seen = 0;
  tun.onPackets((batch) => {
    seen += batch.length;
  });
  const p = addon.poll!;
  p.lens[0] = 84;
  let reads = 0;
  const read = (): void => {
    reads++;
    p.cb(null, 1);
  };
  for (let i = 0; i < 2000; i++) read(); // optimized
  // New-space bytes per read over a window without a garbage collection (retried if one came, 10 times at most).
  let perRead = Infinity;
  for (let attempt = 0; attempt < 10 && perRead === Infinity; attempt++) {
    gc();
    const start = newSpaceUsed();
    for (let i = 0; i < 400; i++) read();
    const end = newSpaceUsed();
    if (end >= start) perRead = (end - start) / 400;
  }
  assert.equal(seen, reads, 'every read delivered one packet');
  // A view is ~100 B; emptying the array with `length = 0` made it ~250 (a new store on the next read).
  assert.ok(perRead < 180, `${perRead.toFixed(0)} bytes per one-packet read`);
});

test('a read error goes to onError', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  const errors: TunError[] = [];
  tun.onError((e) => errors.push(e as TunError));
  tun.onPackets(() => assert.fail('no packets expected'));
  addon.poll!.cb(Object.assign(new Error('read: Input/output error'), { code: 'EIO' }), 0);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, 'ETUNIO');
  assert.equal(errors[0].sysCode, 'EIO');
});

test('writeBatch of views into one buffer passes their offsets without copying', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  const out = new Uint8Array(4096);
  const packets = [out.subarray(100, 160), out.subarray(2000, 2020)];
  assert.equal(tun.writeBatch(packets), 2);
  assert.equal(addon.batches[0].buf.buffer, out.buffer);
  assert.deepEqual(addon.batches[0].offsets, [100, 2000]);
  assert.deepEqual(addon.batches[0].lens, [60, 20]);
});

test('writeBatch passes the buffer of each call, reusing its view while the buffer stays the same', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  const first = new Uint8Array(256);
  const second = new Uint8Array(512);
  tun.writeBatch([first.subarray(10, 30)]);
  tun.writeBatch([second.subarray(40, 60)]);
  tun.writeBatch([second.subarray(100, 120), second.subarray(200, 220)]);
  tun.writeBatch([first.subarray(0, 8)]);
  assert.deepEqual(
    addon.batches.map((b) => [
      b.buf.buffer === first.buffer ? 'first' : b.buf.buffer === second.buffer ? 'second' : '?',
      b.offsets,
    ]),
    [
      ['first', [10]],
      ['second', [40]],
      ['second', [100, 200]],
      ['first', [0]],
    ],
  );
  assert.equal(addon.batches[1].buf, addon.batches[2].buf, 'one view per buffer, not one per call');
  assert.equal(addon.batches[0].buf.byteLength, 256);
});

test('writeBatch of separate buffers copies them back to back into one staging buffer', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  assert.equal(tun.writeBatch([Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5])]), 2);
  const { buf, offsets, lens } = addon.batches[0];
  assert.deepEqual(offsets, [0, 3]);
  assert.deepEqual(lens, [3, 2]);
  assert.deepEqual([...buf.subarray(0, 5)], [1, 2, 3, 4, 5]);
});

test('packets the kernel does not accept are counted as write drops', () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  addon.accept = 1;
  assert.equal(tun.writeBatch([new Uint8Array(20), new Uint8Array(20), new Uint8Array(20)]), 1);
  addon.writeResult = 0;
  tun.write(new Uint8Array(20));
  assert.equal(tun.stats.writtenPackets, 1);
  assert.equal(tun.stats.writeDrops, 3);
});

test('joined writes the kernel refused (their packets written one by one) are counted in stats.joinRefusals', () => {
  const addon = new FakeAddon();
  const counters = new Counters();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300, { counters });
  addon.refuse = 2;
  tun.writeBatch([new Uint8Array(20), new Uint8Array(20)]);
  addon.refuse = 0;
  tun.writeBatch([new Uint8Array(20)]);
  assert.equal(tun.stats.joinRefusals, 2, 'counted once each, not again on the next batch');
  assert.equal(counters.get('tun', 'join-refused'), 2, 'and in the counters operators read');
  assert.equal(tun.stats.writtenPackets, 3);
});

test('close stops the watcher before closing the fd, once; later writes throw ETUNCLOSED', async () => {
  const addon = new FakeAddon();
  const tun = new LinuxTun(addon, 7, 'fake0', 1300);
  tun.onPackets(() => {});
  await tun.close();
  await tun.close();
  assert.deepEqual(addon.calls, ['poll start', 'poll stop', 'close 7']);
  assert.throws(
    () => tun.write(new Uint8Array(20)),
    (e: unknown) => e instanceof TunError && e.code === 'ETUNCLOSED',
  );
  assert.throws(
    () => tun.writeBatch([new Uint8Array(20)]),
    (e: unknown) => e instanceof TunError && e.code === 'ETUNCLOSED',
  );
});
