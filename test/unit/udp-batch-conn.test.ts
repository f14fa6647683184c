// BatchConn (pkg/udp/batch-conn.ts) over loopback, and the address records it trades with the addon.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIpv6, parseAddrWords } from '../../pkg/udp/addr-record.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import { BatchConn } from '../../pkg/udp/batch-conn.js';

const built = existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)));
const skip = built ? false : 'the addon is not built (npx node-gyp rebuild)';

async function pair(t: { after(fn: () => unknown): void }, host = '127.0.0.1'): Promise<[BatchConn, BatchConn]> {
  const a = await BatchConn.open({ host, port: 0 });
  const b = await BatchConn.open({ host, port: 0 });
  t.after(() => Promise.all([a.close(), b.close()]));
  return [a, b];
}

function collect(conn: BatchConn, want: number): Promise<Array<{ bytes: Buffer; from: UdpAddr }>> {
  const got: Array<{ bytes: Buffer; from: UdpAddr }> = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${want} datagrams arrived`)), 5000);
    conn.onPacket((packet, from) => {
      // The view dies with the callback: keep a copy.
      got.push({ bytes: Buffer.from(packet), from });
      if (got.length === want) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

test('datagrams sent in one turn leave as one batch and arrive whole and in order', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const to = { address: '127.0.0.1', port: b.localPort };
  // Equal sizes (one GSO run on the way), a shorter one, then a lone different size: boundaries must survive.
  const sizes = [...Array.from({ length: 70 }, () => 1000), 400, 1000, 3];
  const arriving = collect(b, sizes.length);
  sizes.forEach((size, i) => a.send(Buffer.alloc(size, i), to));
  const got = await arriving;
  assert.deepEqual(
    got.map((d) => [d.bytes.length, d.bytes[0]]),
    sizes.map((size, i) => [size, i]),
  );
  assert.equal(a.stats.sendBatches, 1);
  assert.equal(a.stats.sent, sizes.length);
  assert.equal(a.stats.sendDrops, 0);
});

test('every datagram from one sender carries the same immutable address object', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const arriving = collect(b, 3);
  for (let i = 0; i < 3; i++) a.send(Buffer.of(i), { address: '127.0.0.1', port: b.localPort });
  const got = await arriving;
  assert.deepEqual(got[0].from, { address: '127.0.0.1', port: a.localPort });
  assert.ok(got.every((d) => d.from === got[0].from));
});

test('every listener sees every datagram, in the order the listeners were added', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const seen: string[] = [];
  b.onPacket((p) => seen.push(`first ${p[0]}`));
  const done = collect(b, 2);
  a.send(Buffer.of(1), { address: '127.0.0.1', port: b.localPort });
  a.send(Buffer.of(2), { address: '127.0.0.1', port: b.localPort });
  const got = await done;
  assert.deepEqual(seen, ['first 1', 'first 2']);
  assert.deepEqual(
    got.map((d) => d.bytes[0]),
    [1, 2],
  );
});

test(
  "a receive batch's end is reported once, after every listener saw its datagrams, with its count",
  {
    skip,
  },
  async (t) => {
    const [a, b] = await pair(t);
    const ends: Array<{ count: number; seen: number }> = [];
    let seen = 0;
    b.onPacket(() => seen++);
    b.onBatchEnd((count) => ends.push({ count, seen }));
    const done = collect(b, 5);
    for (let i = 0; i < 5; i++) a.send(Buffer.of(i), { address: '127.0.0.1', port: b.localPort });
    await done;
    // The kernel may split them over wake-ups; each end follows its own batch's datagrams, and together they count 5.
    assert.ok(ends.length >= 1 && ends.length <= 5, `${ends.length} batch ends`);
    assert.equal(
      ends.reduce((sum, e) => sum + e.count, 0),
      5,
    );
    let through = 0;
    for (const e of ends) {
      through += e.count;
      assert.equal(e.seen, through);
    }
    assert.equal(ends.length, b.stats.receiveBatches);
  },
);

test('a datagram sent with a one-off TTL arrives, and a flush hands datagrams over at once', { skip }, async (t) => {
  const [a, b] = await pair(t);
  const arriving = collect(b, 2);
  a.sendWithTtl(Buffer.of(7), { address: '127.0.0.1', port: b.localPort }, 2);
  a.send(Buffer.of(8), { address: '127.0.0.1', port: b.localPort });
  a.flush();
  assert.equal(a.stats.sent, 2, 'flush sent synchronously');
  assert.deepEqual(
    (await arriving).map((d) => d.bytes[0]),
    [7, 8],
  );
});

test('a dual-stack socket reaches and reports IPv4 and IPv6 peers in their plain spelling', { skip }, async (t) => {
  const dual = await BatchConn.open({ host: '::', port: 0 });
  const v6 = await BatchConn.open({ host: '::1', port: 0 });
  const v4 = await BatchConn.open({ host: '127.0.0.1', port: 0 });
  t.after(() => Promise.all([dual.close(), v6.close(), v4.close()]));
  const arriving = collect(dual, 2);
  v6.send(Buffer.of(6), { address: '::1', port: dual.localPort });
  v4.send(Buffer.of(4), { address: '127.0.0.1', port: dual.localPort });
  const got = await arriving;
  const byByte = new Map(got.map((d) => [d.bytes[0], d.from]));
  assert.deepEqual(byByte.get(6), { address: '::1', port: v6.localPort });
  assert.deepEqual(byByte.get(4), { address: '127.0.0.1', port: v4.localPort });

  const back = collect(v4, 1);
  dual.send(Buffer.of(9), { address: '127.0.0.1', port: v4.localPort });
  assert.equal((await back)[0].bytes[0], 9);
});

test('sends to unusable addresses and after close are counted or ignored, never thrown', { skip }, async (t) => {
  const [a] = await pair(t);
  a.send(Buffer.of(1), { address: 'fe80::1%lo', port: 9 });
  a.send(Buffer.of(1), { address: 'not an address', port: 9 });
  assert.equal(a.stats.sendDrops, 2);
  await a.close();
  a.send(Buffer.of(1), { address: '127.0.0.1', port: 9 });
  await a.close();
});

test('address records: IPv6 text round-trips, IPv4-mapped folds to IPv4, zones and names are refused', () => {
  assert.deepEqual(parseAddrWords('1.2.3.4'), [4, 0x01020304, 0, 0, 0]);
  assert.deepEqual(parseAddrWords('::ffff:1.2.3.4'), [4, 0x01020304, 0, 0, 0]);
  assert.deepEqual(parseAddrWords('2001:db8::1'), [6, 0x20010db8, 0, 0, 1]);
  assert.equal(parseAddrWords('fe80::1%eth0'), null);
  assert.equal(parseAddrWords('example.com'), null);
  for (const text of ['::', '::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '1::', '1:0:0:2::3']) {
    const w = parseAddrWords(text);
    assert.ok(w !== null && w[0] === 6, text);
    assert.equal(formatIpv6(w), text);
  }
});
