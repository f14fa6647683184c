// Fuzzing the cut of coalesced receives (pkg/native/udp_gro.c through udp_gro_cut): a message's length, its control
// data (the UDP_GRO record with the segment size) and its flags come from the kernel on behalf of whoever sent, and
// are not trusted. Properties: never a crash or an exception; nothing written outside the buffers given; the result
// is either nothing (the message dropped) or the message cut at one segment size into at most 128 datagrams, each
// no longer than a slot, that put back together are the message, every one with the message's sender; and for
// well-formed records exactly the cut the segment size says (docs/ipv6.md "The underlay socket").

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeAddon } from '../../pkg/native/addon.js';
import { runFuzz, type Rand } from './helpers/fuzz.js';
import { guarded, skipWithoutAddon as skip } from './helpers/offload-probe.js';

const W = 8;
const SOL_UDP = 17;
const UDP_GRO = 104;
const MSG_TRUNC = 0x20;
const MSG_CTRUNC = 0x08;
const MAX_SEGMENTS = 128;
const CMSG_LEN_INT = 20; // CMSG_LEN(sizeof(int)) on 64-bit Linux: an 8-byte length, level, type, then the int
const CMSG_SPACE_INT = 24;

/** One control record as the kernel lays it out (cmsg_len, level, type, an int), padded to its space. */
function record(size: number, opts: { len?: number; level?: number; type?: number } = {}): Uint8Array {
  const b = Buffer.alloc(CMSG_SPACE_INT);
  b.writeBigUInt64LE(BigInt(opts.len ?? CMSG_LEN_INT), 0);
  b.writeInt32LE(opts.level ?? SOL_UDP, 8);
  b.writeInt32LE(opts.type ?? UDP_GRO, 12);
  b.writeInt32LE(size | 0, 16);
  return b;
}

interface Cut {
  datagrams: Buffer[];
  senders: string[];
}

function cut(data: Uint8Array, control: Uint8Array, flags: number, slotSize: number, batch: number): Cut {
  const addon = loadNativeAddon();
  const room = MAX_SEGMENTS + 1;
  const slots = guarded(room * slotSize);
  const meta = new Uint32Array(room * W + 16).fill(0xdeadbeef);
  const count = addon.udp_gro_cut(data, control, flags, slotSize, batch, slots.view, meta);
  assert.ok(slots.intact(), 'wrote outside the slots');
  for (let i = room * W; i < meta.length; i++) assert.equal(meta[i], 0xdeadbeef, 'wrote past the records');
  assert.ok(count <= MAX_SEGMENTS, `${count} datagrams from one message`);
  const datagrams: Buffer[] = [];
  const senders: string[] = [];
  for (let k = 0; k < count; k++) {
    const [off, len, family, port, addr] = meta.subarray(k * W, k * W + 5);
    assert.equal(off, k * slotSize);
    assert.ok(len <= slotSize, `datagram ${k}: ${len} bytes in a ${slotSize}-byte slot`);
    datagrams.push(Buffer.from(slots.view.subarray(off, off + len)));
    senders.push(`${family} ${addr.toString(16)}:${port}`);
  }
  return { datagrams, senders };
}

/** The safety properties every result must have; returns the segment size it was cut at (0: dropped). */
function checkCut(c: Cut, data: Uint8Array, slotSize: number, ctx: string): number {
  if (c.datagrams.length === 0) return 0;
  assert.ok(Buffer.concat(c.datagrams).equals(Buffer.from(data)), `put back together it is the message: ${ctx}`);
  const size = c.datagrams[0].length;
  c.datagrams.forEach((d, i) => {
    if (i < c.datagrams.length - 1) assert.equal(d.length, size, `datagram ${i} of one size: ${ctx}`);
    else assert.ok(d.length <= size || c.datagrams.length === 1, `the last no longer: ${ctx}`);
  });
  assert.ok(size <= slotSize, ctx);
  assert.ok(
    c.senders.every((s) => s === '4 c0000201:4242'),
    `the sender on every datagram: ${ctx}`,
  );
  return size;
}

test('a well-formed record cuts the message at its segment size, in batches of any size', { skip }, () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 13) & 0xff));
  for (const batch of [1, 3, 64]) {
    const c = cut(data, record(96), 0, 1536, batch);
    assert.deepEqual(
      c.datagrams.map((d) => d.length),
      [...Array<number>(10).fill(96), 40],
      `batch ${batch}`,
    );
    checkCut(c, data, 1536, `batch ${batch}`);
  }
  // Without a record it is one datagram, if it fits a slot; an empty one stays one empty datagram.
  assert.equal(cut(data, new Uint8Array(0), 0, 1536, 64).datagrams.length, 1);
  assert.equal(cut(data, new Uint8Array(0), 0, 512, 64).datagrams.length, 0);
  assert.deepEqual(
    cut(new Uint8Array(0), new Uint8Array(0), 0, 512, 64).datagrams.map((d) => d.length),
    [0],
  );
});

test('a malformed record, a size out of range, too many segments or a truncation drops the message', { skip }, () => {
  const data = new Uint8Array(6400).fill(7);
  const drops: [string, Uint8Array, number][] = [
    ['size 0', record(0), 0],
    ['negative size', record(-100), 0],
    ['size past the slot', record(1537), 0],
    ['129 segments', record(49), 0],
    ['record length 24', record(100, { len: 24 }), 0],
    ['record length 16', record(100, { len: 16 }), 0],
    ['two records', Buffer.concat([record(100), record(100)]), 0],
    ['MSG_TRUNC', record(100), MSG_TRUNC],
    ['MSG_CTRUNC', record(100), MSG_CTRUNC],
  ];
  for (const [what, control, flags] of drops) {
    assert.equal(cut(data, control, flags, 1536, 64).datagrams.length, 0, what);
  }
  assert.equal(cut(data, record(100), 0, 1536, 64).datagrams.length, 64, '64 segments are taken');
  assert.equal(cut(data, record(50), 0, 1536, 64).datagrams.length, 128, '128 segments are taken');
  // Another level or type is not the segment size: the message is one datagram, here longer than a slot.
  assert.equal(cut(data, record(100, { level: 0 }), 0, 1536, 64).datagrams.length, 0);
  assert.equal(cut(data.subarray(0, 900), record(100, { type: 1 }), 0, 1536, 64).datagrams.length, 1);
});

test('a record cut short by the control length drops the message, whatever lies past it', { skip }, () => {
  const data = new Uint8Array(1000).fill(3);
  // udp_gro_cut fills the bytes past the control data with a plausible size (100): a parse reading past
  // msg_controllen would cut the message at it (or at 96 with the size's low bytes inside).
  for (let len = 16; len < CMSG_LEN_INT; len++) {
    assert.equal(cut(data, record(96).subarray(0, len), 0, 1536, 64).datagrams.length, 0, `${len} bytes`);
  }
  for (let len = CMSG_LEN_INT; len <= CMSG_SPACE_INT; len++) {
    assert.equal(cut(data, record(96).subarray(0, len), 0, 1536, 64).datagrams.length, 11, `${len} bytes`);
  }
});

function randomControl(r: Rand, size: number): Uint8Array {
  switch (r.int(7)) {
    case 0:
      return new Uint8Array(0);
    case 1:
      return record(size);
    case 2:
      return record(size, { len: r.pick([0, 1, 12, 16, 19, 21, 24, 25, 1 << 20, r.int(300)]) });
    case 3:
      return record(size, { level: r.pick([0, SOL_UDP, r.int(300)]), type: r.pick([UDP_GRO, 103, r.int(300)]) });
    case 4:
      return Buffer.concat([record(size), r.chance(0.5) ? record(r.int(3000)) : r.bytes(r.int(40))]);
    case 5:
      return record(size).subarray(0, 16 + r.int(CMSG_SPACE_INT - 16)); // cut inside the int or its padding
    default:
      return r.bytes(r.int(100));
  }
}

test('fuzz: any message, record and flags give nothing or a faithful cut, inside the buffers', { skip }, () => {
  const stats = runFuzz('udp-gro-cut', { iterations: 3000, minIterations: 300, ms: 2000, seed: 0x6e0 }, (r) => {
    const slotSize = r.pick([64, 512, 1536, 9216, 1 + r.int(9216)]);
    const len = r.pick([0, 1, 95, 96, 97, 1332, 6144, 9216, 65507, r.int(65537)]);
    const data = r.bytes(len);
    const size = r.pick([0, 1, 96, 1332, slotSize, slotSize + 1, len, len - 1, -1, 2 ** 31 - 1, r.int(70000)]);
    const control = randomControl(r, size);
    const flags = r.chance(0.85) ? 0 : r.pick([MSG_TRUNC, MSG_CTRUNC, r.int(1 << 16)]);
    const batch = r.pick([1, 2, 7, 64, 1 + r.int(256)]);
    const ctx = `len ${len} size ${size} slot ${slotSize} batch ${batch} flags ${flags}`;
    const got = checkCut(cut(data, control, flags, slotSize, batch), data, slotSize, ctx);
    if (
      control.length >= 16 &&
      control.length < CMSG_LEN_INT &&
      Buffer.from(record(size).subarray(0, control.length)).equals(control)
    ) {
      assert.equal(got, 0, `a record cut to ${control.length} bytes: ${ctx}`);
    }
    if (control.length === CMSG_SPACE_INT && Buffer.from(control).equals(record(size)) && flags === 0) {
      // A well-formed record: exactly the cut it asks for, or a drop for the reasons the docs give.
      const segments = size > 0 ? Math.max(1, Math.ceil(len / size)) : 0;
      const takes = size > 0 && size <= slotSize && segments <= MAX_SEGMENTS;
      assert.equal(got, takes ? Math.min(size, len) : 0, ctx);
    }
  });
  assert.ok(stats.iterations > 0);
});
