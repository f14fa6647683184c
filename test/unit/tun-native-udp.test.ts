// The addon's batched UDP primitives over loopback: recvmmsg batches woken by the event loop, sendmmsg batches,
// addresses as numbers.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadNativeAddon, UDP_META_WORDS, type UdpAddon } from '../../pkg/native/addon.js';

const built = existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)));
const skip = built ? false : 'the addon is not built (npx node-gyp rebuild)';
const LOOPBACK = 0x7f000001;
const W = UDP_META_WORDS;

interface Received {
  payload: number[];
  family: number;
  port: number;
  addr: number[];
}

/** Starts a poll and resolves with the batches seen until `total` datagrams arrived (or fails after 5 s). */
function receive(addon: UdpAddon, fd: number, total: number, slotSize = 256): Promise<Received[][]> {
  const buf = new Uint8Array(64 * slotSize);
  const meta = new Uint32Array(64 * W);
  return new Promise((resolve, reject) => {
    const batches: Received[][] = [];
    let seen = 0;
    const timer = setTimeout(() => {
      addon.udp_poll_stop(handle);
      reject(new Error(`only ${seen} of ${total} datagrams arrived`));
    }, 5000);
    const handle = addon.udp_poll_start(fd, buf, meta, slotSize, (err, count) => {
      if (err) return reject(err);
      const batch: Received[] = [];
      for (let k = 0; k < count; k++) {
        const r = meta.subarray(k * W, k * W + W);
        batch.push({
          payload: [...buf.subarray(r[0], r[0] + r[1])],
          family: r[2],
          port: r[3],
          addr: [...r.subarray(4)],
        });
      }
      batches.push(batch);
      seen += count;
      if (seen >= total) {
        clearTimeout(timer);
        addon.udp_poll_stop(handle);
        resolve(batches);
      }
    });
  });
}

function records(entries: { off: number; len: number; family: number; port: number; addr: number[] }[]): Uint32Array {
  const meta = new Uint32Array(entries.length * W);
  entries.forEach((e, i) => meta.set([e.off, e.len, e.family, e.port, ...e.addr, 0, 0, 0].slice(0, W), i * W));
  return meta;
}

test('a sendmmsg batch arrives as one recvmmsg batch with the sender as numbers', { skip }, async () => {
  const addon = loadNativeAddon();
  const a = addon.udp_open('127.0.0.1', 0);
  const b = addon.udp_open('127.0.0.1', 0);
  try {
    const buf = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const meta = records([
      { off: 0, len: 1, family: 4, port: b.port, addr: [LOOPBACK] },
      { off: 1, len: 2, family: 4, port: b.port, addr: [LOOPBACK] },
      { off: 3, len: 3, family: 4, port: b.port, addr: [LOOPBACK] },
    ]);
    assert.equal(addon.udp_sendmmsg(a.fd, buf, meta, 3), 3);
    const batches = await receive(addon, b.fd, 3);
    assert.deepEqual(batches, [
      [
        { payload: [1], family: 4, port: a.port, addr: [LOOPBACK, 0, 0, 0] },
        { payload: [2, 3], family: 4, port: a.port, addr: [LOOPBACK, 0, 0, 0] },
        { payload: [4, 5, 6], family: 4, port: a.port, addr: [LOOPBACK, 0, 0, 0] },
      ],
    ]);
  } finally {
    addon.udp_close(a.fd);
    addon.udp_close(b.fd);
  }
});

test('a dual-stack socket reports an IPv4 sender as family 4, and sends to family-4 records', { skip }, async () => {
  const addon = loadNativeAddon();
  const v6 = addon.udp_open('::', 0);
  const v4 = addon.udp_open('127.0.0.1', 0);
  try {
    const one = records([{ off: 0, len: 1, family: 4, port: v6.port, addr: [LOOPBACK] }]);
    assert.equal(addon.udp_sendmmsg(v4.fd, Uint8Array.of(42), one, 1), 1);
    const [[got]] = await receive(addon, v6.fd, 1);
    assert.deepEqual(got, { payload: [42], family: 4, port: v4.port, addr: [LOOPBACK, 0, 0, 0] });

    const back = records([{ off: 0, len: 1, family: 4, port: v4.port, addr: [LOOPBACK] }]);
    assert.equal(addon.udp_sendmmsg(v6.fd, Uint8Array.of(43), back, 1), 1);
    const [[reply]] = await receive(addon, v4.fd, 1);
    assert.deepEqual(reply.payload, [43]);
  } finally {
    addon.udp_close(v6.fd);
    addon.udp_close(v4.fd);
  }
});

test('datagrams the socket cannot send or a slot cannot hold are dropped, the rest go through', { skip }, async () => {
  const addon = loadNativeAddon();
  const a = addon.udp_open('127.0.0.1', 0);
  const b = addon.udp_open('127.0.0.1', 0);
  try {
    const buf = new Uint8Array(600).fill(7);
    const meta = records([
      { off: 0, len: 600, family: 4, port: b.port, addr: [LOOPBACK] }, // bigger than the receiver's slot
      { off: 0, len: 10, family: 6, port: b.port, addr: [0, 0, 0, 1] }, // IPv6 from an IPv4 socket
      { off: 0, len: 10, family: 4, port: b.port, addr: [LOOPBACK] },
    ]);
    assert.equal(addon.udp_sendmmsg(a.fd, buf, meta, 3), 2);
    const batches = await receive(addon, b.fd, 1, 256);
    assert.deepEqual(
      batches.flat().map((d) => d.payload.length),
      [10],
    );
  } finally {
    addon.udp_close(a.fd);
    addon.udp_close(b.fd);
  }
});

test('bad arguments throw instead of touching memory out of range', { skip }, () => {
  const addon = loadNativeAddon();
  const a = addon.udp_open('127.0.0.1', 0);
  try {
    const meta = records([{ off: 8, len: 8, family: 4, port: 9, addr: [LOOPBACK] }]);
    assert.throws(() => addon.udp_sendmmsg(a.fd, new Uint8Array(10), meta, 1), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => addon.udp_sendmmsg(a.fd, new Uint8Array(16), meta, 2), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => addon.udp_open('not an address', 0), { code: 'EINVAL' });
    assert.throws(() => addon.tun_write(a.fd, new Uint8Array(4), 2, 4), { code: 'ERR_OUT_OF_RANGE' });
  } finally {
    addon.udp_close(a.fd);
  }
});

test(
  '512 full-size datagrams sent as 8 sendmmsg batches all arrive intact, once each, in recvmmsg batches',
  { skip },
  async () => {
    const addon = loadNativeAddon();
    const a = addon.udp_open('127.0.0.1', 0);
    const b = addon.udp_open('127.0.0.1', 0);
    // Room for every datagram in the receive queue, so a loss here is the addon's and not the kernel's.
    addon.udp_set_buffers(b.fd, 8 << 20, 0);
    try {
      const size = 1300;
      const perBatch = 64;
      const batchesToSend = 8;
      const total = perBatch * batchesToSend;
      const buf = new Uint8Array(perBatch * size);
      const meta = records(
        Array.from({ length: perBatch }, (_, i) => ({
          off: i * size,
          len: size,
          family: 4,
          port: b.port,
          addr: [LOOPBACK],
        })),
      );
      const arriving = receive(addon, b.fd, total, 2048);
      for (let batch = 0; batch < batchesToSend; batch++) {
        // Each datagram carries its sequence number in its first two bytes and in its last byte's low bits.
        for (let i = 0; i < perBatch; i++) {
          const seq = batch * perBatch + i;
          buf.fill(seq & 0xff, i * size, (i + 1) * size);
          buf[i * size] = seq >> 8;
          buf[i * size + 1] = seq & 0xff;
        }
        assert.equal(addon.udp_sendmmsg(a.fd, buf, meta, perBatch), perBatch);
      }
      const batches = await arriving;
      const seen = new Set<number>();
      for (const d of batches.flat()) {
        assert.equal(d.payload.length, size);
        const seq = (d.payload[0] << 8) | d.payload[1];
        assert.ok(
          d.payload.slice(2).every((x) => x === (seq & 0xff)),
          `datagram ${seq} intact`,
        );
        assert.ok(!seen.has(seq), `datagram ${seq} once`);
        seen.add(seq);
      }
      assert.equal(seen.size, total);
      assert.ok(batches.length < total, `read in batches (${batches.length} reads for ${total} datagrams)`);
    } finally {
      addon.udp_close(a.fd);
      addon.udp_close(b.fd);
    }
  },
);
