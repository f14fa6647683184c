// Coalesced receives on the underlay socket (pkg/native/udp_gro.c, docs/ipv6.md "The underlay socket") over
// loopback: runs sent with UDP_SEGMENT reach a socket with UDP_GRO as one message each, which the addon cuts back
// into the datagrams that were sent, in order, from the right sender, across batches smaller than a run.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadNativeAddon, UDP_META_WORDS, type UdpAddon } from '../../pkg/native/addon.js';

const built = existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)));
const skip = built ? false : 'the addon is not built (npx node-gyp rebuild)';
const LOOPBACK = 0x7f000001;
const W = UDP_META_WORDS;

interface Got {
  payload: Buffer;
  port: number;
  addr: number;
}

/** Polls `fd` with `slots` slots of `slotSize` until `total` datagrams arrived; fails after 5 s. */
function receive(addon: UdpAddon, fd: number, total: number, slots: number, slotSize: number): Promise<Got[][]> {
  const buf = new Uint8Array(slots * slotSize);
  const meta = new Uint32Array(slots * W);
  return new Promise((resolve, reject) => {
    const batches: Got[][] = [];
    let seen = 0;
    const timer = setTimeout(() => {
      addon.udp_poll_stop(handle);
      reject(new Error(`only ${seen} of ${total} datagrams arrived`));
    }, 5000);
    const handle = addon.udp_poll_start(fd, buf, meta, slotSize, (err, count) => {
      if (err) return reject(err);
      const batch: Got[] = [];
      for (let k = 0; k < count; k++) {
        const r = meta.subarray(k * W, k * W + W);
        assert.ok(r[0] + r[1] <= buf.length);
        batch.push({ payload: Buffer.from(buf.subarray(r[0], r[0] + r[1])), port: r[3], addr: r[4] });
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

/** Runs of `count` datagrams of `size` bytes (the last of each `last` bytes), each datagram numbered in its bytes. */
function datagrams(runs: { count: number; size: number; last: number }[]): Buffer[] {
  const out: Buffer[] = [];
  for (const run of runs) {
    for (let i = 0; i < run.count; i++) {
      const d = Buffer.alloc(i === run.count - 1 ? run.last : run.size);
      for (let k = 0; k < d.length; k++) d[k] = (out.length * 7 + k) & 0xff;
      if (d.length >= 2) d.writeUInt16BE(out.length, 0);
      out.push(d);
    }
  }
  return out;
}

function send(addon: UdpAddon, fd: number, port: number, packets: Buffer[]): number {
  const buf = Buffer.concat(packets);
  const meta = new Uint32Array(packets.length * W);
  let off = 0;
  packets.forEach((p, i) => {
    meta.set([off, p.length, 4, port, LOOPBACK, 0, 0, 0], i * W);
    off += p.length;
  });
  return addon.udp_sendmmsg(fd, buf, meta, packets.length);
}

const RUNS = [
  { count: 64, size: 96, last: 96 },
  { count: 40, size: 1332, last: 700 },
  { count: 1, size: 50, last: 50 },
  { count: 9, size: 200, last: 13 },
];

for (const gro of [true, false]) {
  for (const slots of [64, 7, 1]) {
    test(
      `UDP_GRO ${gro ? 'on' : 'off'}, ${slots}-slot batches: every datagram once, in order, intact`,
      { skip },
      async () => {
        const addon = loadNativeAddon();
        const a = addon.udp_open('127.0.0.1', 0);
        const b = addon.udp_open('127.0.0.1', 0);
        try {
          assert.equal(addon.udp_set_gro(b.fd, gro), gro, 'the kernel takes UDP_GRO (Linux >= 5.0)');
          const sent = datagrams(RUNS);
          assert.equal(send(addon, a.fd, b.port, sent), sent.length);
          const batches = await receive(addon, b.fd, sent.length, slots, 1536);
          const got = batches.flat();
          assert.equal(got.length, sent.length);
          got.forEach((g, i) => {
            assert.ok(g.payload.equals(sent[i]), `datagram ${i}: ${g.payload.length} bytes, sent ${sent[i].length}`);
            assert.equal(g.port, a.port);
            assert.equal(g.addr, LOOPBACK);
          });
          assert.ok(batches.every((batch) => batch.length <= slots));
        } finally {
          addon.udp_close(a.fd);
          addon.udp_close(b.fd);
        }
      },
    );
  }
}

test('runs held back for later batches do not keep the event loop from other work', { skip }, async () => {
  const addon = loadNativeAddon();
  const a = addon.udp_open('127.0.0.1', 0);
  const b = addon.udp_open('127.0.0.1', 0);
  try {
    assert.equal(addon.udp_set_gro(b.fd, true), true);
    addon.udp_set_buffers(b.fd, 8 << 20, 0);
    // 40 runs of 64 datagrams queued before the first read: one recvmmsg could take them all (2560 datagrams).
    const sent = datagrams(Array.from({ length: 40 }, () => ({ count: 64, size: 96, last: 96 })));
    for (let run = 0; run < 40; run++) {
      assert.equal(send(addon, a.fd, b.port, sent.slice(run * 64, run * 64 + 64)), 64);
    }
    const slots = 64;
    const buf = new Uint8Array(slots * 1536);
    const meta = new Uint32Array(slots * W);
    let seen = 0;
    let beforeOtherWork = -1;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen} of ${sent.length} arrived`)), 5000);
      const handle = addon.udp_poll_start(b.fd, buf, meta, 1536, (err, count) => {
        if (err) return reject(err);
        if (seen === 0) setImmediate(() => (beforeOtherWork = seen));
        seen += count;
        if (seen >= sent.length) {
          if (beforeOtherWork < 0) beforeOtherWork = seen; // all of them before the loop went on
          clearTimeout(timer);
          addon.udp_poll_stop(handle);
          resolve();
        }
      });
    });
    assert.equal(seen, sent.length);
    // The plain reader takes 4 batches of 64 a wakeup (pkg/native/poll.c); the first read of runs asks for 4.
    assert.ok(beforeOtherWork > 0 && beforeOtherWork <= 4 * 64, `${beforeOtherWork} datagrams in one wakeup`);
  } finally {
    addon.udp_close(a.fd);
    addon.udp_close(b.fd);
  }
});

for (const gro of [true, false]) {
  test(
    `UDP_GRO ${gro ? 'on' : 'off'}: runs queued faster than they are handed out, at most 4 batches between two setImmediates`,
    { skip },
    async () => {
      const addon = loadNativeAddon();
      const a = addon.udp_open('127.0.0.1', 0);
      const b = addon.udp_open('127.0.0.1', 0);
      try {
        assert.equal(addon.udp_set_gro(b.fd, gro), gro);
        addon.udp_set_buffers(b.fd, 8 << 20, 0);
        const run = datagrams([{ count: 64, size: 64, last: 64 }]);
        // Single datagrams first: the reader's first read takes them and then asks for many messages at once
        // (udp_gro.c sizes a read by the last one's datagrams per message), which here turn out to be full runs.
        for (let i = 0; i < 4; i++) assert.equal(send(addon, a.fd, b.port, [Buffer.alloc(100, i)]), 1);
        const slots = 64;
        const buf = new Uint8Array(slots * 1536);
        const meta = new Uint32Array(slots * W);
        const BATCHES = 200;
        let batches = 0;
        let sinceImmediate = 0;
        let most = 0;
        await new Promise<void>((resolve, reject) => {
          let done = false;
          const finish = (err?: Error) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            addon.udp_poll_stop(handle);
            if (err) reject(err);
            else resolve();
          };
          const timer = setTimeout(() => finish(new Error(`only ${batches} of ${BATCHES} batches`)), 5000);
          const tick = () => {
            most = Math.max(most, sinceImmediate);
            sinceImmediate = 0;
            if (!done) setImmediate(tick);
          };
          setImmediate(tick);
          const handle = addon.udp_poll_start(b.fd, buf, meta, 1536, (err) => {
            if (err) return finish(err);
            batches++;
            sinceImmediate++;
            // The first batch queues 64 runs behind it; every batch after queues two more than it took.
            for (let k = 0; k < (batches === 1 ? 64 : 2); k++) send(addon, a.fd, b.port, run);
            if (batches >= BATCHES) finish();
          });
        });
        most = Math.max(most, sinceImmediate);
        assert.equal(batches, BATCHES);
        // pkg/native/poll.c: ROUNDS_PER_WAKEUP batches a loop iteration, held datagrams included.
        assert.ok(most >= 1 && most <= 4, `${most} batches between two setImmediates`);
      } finally {
        addon.udp_close(a.fd);
        addon.udp_close(b.fd);
      }
    },
  );
}
