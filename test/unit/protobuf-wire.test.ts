import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ProtobufError,
  ProtobufWriter,
  fieldUint32,
  fieldUint64,
  readFields,
  readPackedUint32,
  WireType,
} from '../../pkg/protobuf/protobuf.js';
import { seededRandom } from './helpers/seeded-random.js';

// The hand-written proto3 reader and writer under Nebula's messages. Expected bytes follow the protobuf encoding
// spec (varints little-endian base 128, key = field << 3 | wire type) and Go's canonical output (ascending fields,
// zero values omitted, packed repeated scalars).

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function assertOnlyProtobufError(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtobufError, `${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.equal((e as ProtobufError).code, 'EPROTOBUF');
  }
}

test('varints are written little-endian base 128 at the boundaries', () => {
  const cases: Array<[number, string]> = [
    [1, '0801'],
    [127, '087f'],
    [128, '088001'],
    [300, '08ac02'],
    [16383, '08ff7f'],
    [16384, '08808001'],
    [0xffffffff, '08ffffffff0f'],
    [Number.MAX_SAFE_INTEGER, '08ffffffffffffff0f'],
  ];
  for (const [v, want] of cases) assert.equal(hex(new ProtobufWriter().uint(1, v).finish()), want, `value ${v}`);
});

test('zero, false and empty values are omitted, as proto3 requires for canonical output', () => {
  const w = new ProtobufWriter()
    .uint(1, 0)
    .uint64(2, 0n)
    .bool(3, false)
    .bytes(4, new Uint8Array(0))
    .bytes(5, undefined);
  w.string(6, '').packed(7, []);
  assert.equal(w.finish().length, 0);
});

test('an embedded message is written even when empty, because Nebula rejects a NebulaMeta without Details', () => {
  assert.equal(hex(new ProtobufWriter().uint(1, 1).message(2, new Uint8Array(0)).finish()), '08011200');
});

test('bytes, strings and booleans carry their key, length and content', () => {
  const w = new ProtobufWriter().bool(1, true).string(2, 'héllo').bytes(3, bytes('00ff'));
  assert.equal(hex(w.finish()), '0801' + '1206' + hex(new TextEncoder().encode('héllo')) + '1a0200ff');
});

test('uint64 writes all 64 bits exactly, beyond what a double can hold', () => {
  assert.equal(hex(new ProtobufWriter().uint64(1, 0xffffffffffffffffn).finish()), '08ffffffffffffffffff01');
  assert.equal(hex(new ProtobufWriter().uint64(1, 0x8000000000000001n).finish()), '08818080808080808080' + '01');
});

test('packed repeated varints are one length-delimited field', () => {
  assert.equal(hex(new ProtobufWriter().packed(5, [1, 300, 0]).finish()), '2a0401ac0200');
});

test('fields are written in the order the caller gives, large field numbers with multi-byte keys', () => {
  assert.equal(hex(new ProtobufWriter().uint(2, 1).uint(16, 1).finish()), '1001' + '800101');
});

test('readFields returns every field with its number, wire type and value', () => {
  const fields = readFields(bytes('08 96 01 12 03 61 62 63 19 0102030405060708 25 01020304 800101'));
  assert.deepEqual(
    fields.map((f) => [f.number, f.wireType, f.varint.lo, f.bytes?.length]),
    [
      [1, WireType.Varint, 150, undefined],
      [2, WireType.Bytes, 0, 3],
      [3, WireType.Fixed64, 0, undefined],
      [4, WireType.Fixed32, 0, undefined],
      [16, WireType.Varint, 1, undefined],
    ],
  );
  assert.equal(hex(fields[1].bytes as Uint8Array), '616263');
});

test('a length-delimited field is a view into the input, not a copy', () => {
  const input = bytes('0a 02 aa bb');
  const [f] = readFields(input);
  assert.equal(f.bytes?.buffer, input.buffer);
  assert.equal(f.bytes?.byteOffset, 2);
});

test('varint values are exact to 64 bits, and a uint32 field keeps the low 32 bits as Go does', () => {
  const [a] = readFields(bytes('08 ffffffffffffff0f'));
  assert.equal(fieldUint64(a), BigInt(Number.MAX_SAFE_INTEGER));
  const [b] = readFields(bytes('08 ffffffffffffffffff01'));
  assert.equal(fieldUint64(b), 0xffffffffffffffffn);
  assert.equal(fieldUint32(b), 0xffffffff);
  // 2^53 + 1: a double would round it to 2^53.
  const [c] = readFields(bytes('08 8180808080808010'));
  assert.equal(fieldUint64(c), 2n ** 53n + 1n);
});

test('whatever the writer produces, the reader reads back', () => {
  const rand = seededRandom(7);
  for (let i = 0; i < 500; i++) {
    const n = Math.floor(rand() * 2 ** 53);
    const big = (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
    const packed = [Math.floor(rand() * 2 ** 32), Math.floor(rand() * 128)];
    const buf = new ProtobufWriter().uint(1, n).uint64(2, big).packed(3, packed).finish();
    const fields = readFields(buf);
    const byNumber = new Map(fields.map((f) => [f.number, f]));
    if (n !== 0) assert.equal(fieldUint64(byNumber.get(1)!), BigInt(n));
    if (big !== 0n) assert.equal(fieldUint64(byNumber.get(2)!), big);
    assert.deepEqual(readPackedUint32(byNumber.get(3)?.bytes as Uint8Array), packed);
  }
});

test('readPackedUint32 decodes a run of varints and an empty run', () => {
  assert.deepEqual(readPackedUint32(bytes('01 ac02 ffffffff0f')), [1, 300, 0xffffffff]);
  assert.deepEqual(readPackedUint32(new Uint8Array(0)), []);
});

test('malformed input throws ProtobufError with code EPROTOBUF', () => {
  const bad: Array<[string, string]> = [
    ['08', 'key without value'],
    ['08 80', 'truncated varint'],
    ['08 80808080808080808080 01', 'varint longer than 10 bytes'],
    ['00 01', 'field number 0'],
    ['0b', 'wire type 3 (start group) never ended'],
    ['0c', 'wire type 4 (end group)'],
    ['0e 00', 'wire type 6'],
    ['0f 00', 'wire type 7'],
    ['12 05 0102', 'length beyond the end'],
    ['12 ffffffffffffffff7f', 'huge length'],
    ['19 01020304', 'truncated fixed64'],
    ['25 0102', 'truncated fixed32'],
  ];
  for (const [input, what] of bad) {
    assert.throws(
      () => readFields(bytes(input)),
      (e: unknown) => e instanceof ProtobufError && e.code === 'EPROTOBUF',
      what,
    );
  }
  assert.throws(() => readPackedUint32(bytes('ac')), ProtobufError);
  assert.throws(() => readPackedUint32(bytes('80808080808080808080 01')), ProtobufError);
});

test('random bytes never make the reader throw anything but ProtobufError', () => {
  const rand = seededRandom(42);
  for (let i = 0; i < 20_000; i++) {
    const buf = new Uint8Array(Math.floor(rand() * 48));
    for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
    assertOnlyProtobufError(() => readFields(buf), `readFields(${hex(buf)})`);
    assertOnlyProtobufError(() => readPackedUint32(buf), `readPackedUint32(${hex(buf)})`);
  }
});

// Reported to the lead: ProtobufWriter.varint() pushes a negative number as one byte (Uint8Array.from turns -1
// into 0xff, a varint with its continuation bit set and nothing after it), so a caller that passes `x | 0` for an
// index >= 2^31 would put a corrupt message on the wire. Every Nebula field mesh writes is unsigned.
test('the writer refuses negative and fractional values instead of writing a corrupt varint', () => {
  assert.throws(() => new ProtobufWriter().uint(1, -1));
  assert.throws(() => new ProtobufWriter().uint(1, 1.5));
});
