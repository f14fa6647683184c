import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ProtoReader, WireType } from '../../pkg/protobuf/reader.js';
import { ProtobufWriter } from '../../pkg/protobuf/writer.js';
import { seededRandom } from './helpers/seeded-random.js';

// ProtobufWriter writes into one growing buffer (pkg/protobuf/writer.ts): every size across its growth steps reads
// back field for field, and finish() hands out exactly the bytes written, as an array of their own.

test('bytes fields of every size across the growth steps read back, in order, with their varint lengths', () => {
  const rand = seededRandom(0x9b07);
  for (const size of [0, 1, 50, 63, 64, 65, 127, 128, 129, 300, 1000, 5000]) {
    const payloads = [size, 7, size * 2 + 1].map((n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const w = new ProtobufWriter().uint(1, 300);
    payloads.forEach((p, i) => w.message(2 + i, p));
    w.uint64(9, 0xfedcba9876543210n).uint(10, Number.MAX_SAFE_INTEGER);
    const out = w.finish();
    const r = new ProtoReader(out, 'protowire');
    const read: unknown[] = [];
    while (!r.done()) {
      const [num, type] = r.tag();
      if (type === WireType.Bytes) read.push([num, Buffer.from(r.bytes()).toString('hex')]);
      else {
        const v = r.varint64();
        read.push([num, (BigInt(v.hi) << 32n) | BigInt(v.lo)]);
      }
    }
    assert.deepEqual(read, [
      [1, 300n],
      ...payloads.map((p, i) => [2 + i, Buffer.from(p).toString('hex')]),
      [9, 0xfedcba9876543210n],
      [10, BigInt(Number.MAX_SAFE_INTEGER)],
    ]);
  }
});

test('finish() returns exactly the bytes written, a copy that later writes and changes do not reach', () => {
  const w = new ProtobufWriter().uint(1, 1);
  const first = w.finish();
  assert.deepEqual([...first], [0x08, 0x01]);
  first[1] = 0x7f;
  w.uint(2, 2);
  assert.deepEqual([...w.finish()], [0x08, 0x01, 0x10, 0x02]);
  assert.deepEqual([...first], [0x08, 0x7f]);
  assert.equal(new ProtobufWriter().finish().length, 0);
});
