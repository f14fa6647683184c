// The sender table of batched UDP (pkg/udp/addr-record.ts): a sender seen again gets the very same UdpAddr object,
// for working sets as large as a lighthouse's tunnels, and a flood of new senders stays bounded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADDR_GENERATION, AddrTable, RecentMap } from '../../pkg/udp/addr-record.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';

/** One addon record (pkg/native/udp.c layout) at word 0: IPv4 `ip`, `port`. */
function v4Record(ip: number, port: number): Uint32Array {
  const meta = new Uint32Array(8);
  meta[2] = 4;
  meta[3] = port;
  meta[4] = ip >>> 0;
  return meta;
}

test('a working set of 10000 senders, heard from in turn, gets the same address object every time', () => {
  const table = new AddrTable();
  const n = 10_000;
  const base = (198 << 24) | (18 << 16);
  const first: UdpAddr[] = [];
  for (let i = 0; i < n; i++) first.push(table.fromRecord(v4Record(base + (i >> 4), 10_000 + i), 0));
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) {
      const addr = table.fromRecord(v4Record(base + (i >> 4), 10_000 + i), 0);
      if (addr !== first[i]) assert.fail(`round ${round}: sender ${i} got a new object`);
    }
  }
  assert.deepEqual(first[17], { address: '198.18.0.1', port: 10_017 });
});

test('an address from a record converts back to its record words when we send to it', () => {
  const table = new AddrTable();
  const ip = ((203 << 24) | (0 << 16) | (113 << 8) | 7) >>> 0;
  const addr = table.fromRecord(v4Record(ip, 4242), 0);
  assert.deepEqual(addr, { address: '203.0.113.7', port: 4242 });
  assert.deepEqual(table.toWords(addr), [4, ip, 0, 0, 0]);
  const meta = new Uint32Array(8);
  meta.set([6, 4242, 0x20010db8, 0, 0, 1], 2);
  const v6 = table.fromRecord(meta, 0);
  assert.deepEqual(v6, { address: '2001:db8::1', port: 4242 });
  assert.deepEqual(table.toWords(v6), [6, 0x20010db8, 0, 0, 1]);
  assert.equal(table.fromRecord(meta, 0), v6);
});

test('RecentMap keeps what is used within a generation and holds at most two generations', () => {
  const m = new RecentMap<number, string>(4);
  for (let k = 1; k <= 4; k++) m.add(k, `v${k}`);
  m.add(5, 'v5'); // the first generation (1-4) becomes the previous one
  assert.equal(m.get(1), 'v1'); // found there, and moved to the current one
  for (let k = 6; k <= 8; k++) m.add(k, `v${k}`); // current: 5, 1, 6, 7 -> full at 8: 8 starts a new one
  assert.equal(m.get(1), 'v1');
  assert.equal(m.get(2), undefined); // not used since its generation: dropped
  assert.equal(m.get(4), undefined);
  // A flood of new keys never holds more than two generations.
  for (let k = 100; k < 1000; k++) {
    m.add(k, 'flood');
    assert.ok(m.size <= 8, `size ${m.size} after key ${k}`);
  }
  assert.equal(m.get(999), 'flood');
  assert.equal(m.get(1), undefined);
});

test('a flood of distinct spoofed senders keeps the table at two generations', () => {
  const table = new AddrTable(64);
  const seen = new Set<UdpAddr>();
  for (let i = 0; i < 1000; i++) seen.add(table.fromRecord(v4Record(0x0a000000 + i, 1), 0));
  assert.equal(seen.size, 1000);
  // The newest 64 are remembered: asking again gives the same objects.
  const again = table.fromRecord(v4Record(0x0a000000 + 999, 1), 0);
  assert.ok(seen.has(again));
  // The oldest are gone: a new object.
  assert.ok(!seen.has(table.fromRecord(v4Record(0x0a000000, 1), 0)));
  assert.ok(ADDR_GENERATION >= 40_000, 'a 40k-tunnel lighthouse fits one generation');
});
