// The sender table of batched UDP (pkg/udp/addr-record.ts): a sender seen again gets the very same UdpAddr object,
// for working sets as large as a lighthouse's tunnels once the data path kept them, and a flood of new
// (unauthenticated) senders only churns a small table.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import {
  AddrTable,
  formatIpv6,
  HEARD_GENERATION,
  KEPT_GENERATION,
  RecentMap,
  type SenderCache,
} from '../../pkg/udp/addr-record.js';
import { sameAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { seededRandom } from './helpers/seeded-random.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

/** One addon record (pkg/native/udp.c layout) at word 0: IPv4 `ip`, `port`. */
function v4Record(ip: number, port: number): Uint32Array {
  const meta = new Uint32Array(8);
  meta[2] = 4;
  meta[3] = port;
  meta[4] = ip >>> 0;
  return meta;
}

/** One addon record at word 0: IPv6 of the four words `w`, `port`. */
function v6Record(w: readonly number[], port: number): Uint32Array {
  const meta = new Uint32Array(8);
  meta.set([6, port, w[0] >>> 0, w[1] >>> 0, w[2] >>> 0, w[3] >>> 0], 2);
  return meta;
}

test('a working set of 10000 kept senders, heard from in turn, gets the same address object every time', () => {
  const table = new AddrTable();
  const n = 10_000;
  const base = (198 << 24) | (18 << 16);
  const first: UdpAddr[] = [];
  for (let i = 0; i < n; i++) {
    const addr = table.fromRecord(v4Record(base + (i >> 4), 10_000 + i), 0);
    table.keep(addr);
    first.push(addr);
  }
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < n; i++) {
      const addr = table.fromRecord(v4Record(base + (i >> 4), 10_000 + i), 0);
      if (addr !== first[i]) assert.fail(`round ${round}: sender ${i} got a new object`);
    }
  }
  assert.deepEqual(first[17], { address: '198.18.0.1', port: 10_017 });
});

test('without remembering (MESH_UDP_SENDERS=0), each datagram gets a new object with its text, and nothing is held', () => {
  const table = new AddrTable(undefined, undefined, false);
  const v4 = v4Record(((198 << 24) | (18 << 16) | 7) >>> 0, 4242);
  const v6 = v6Record([0x20010db8, 0, 0, 1], 4243);
  for (let i = 0; i < 3; i++) {
    const a = table.fromRecord(v4, 0);
    const b = table.fromRecord(v4, 0);
    assert.notEqual(a, b);
    assert.deepEqual(a, { address: '198.18.0.7', port: 4242 });
    table.keep(a);
    const c = table.fromRecord(v6, 0);
    assert.deepEqual(c, { address: '2001:db8::1', port: 4243 });
    table.keep(c);
  }
  assert.equal(table.size, 0);
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
  const table = new AddrTable(64, 64);
  const seen = new Set<UdpAddr>();
  for (let i = 0; i < 1000; i++) seen.add(table.fromRecord(v4Record(0x0a000000 + i, 1), 0));
  assert.equal(seen.size, 1000);
  // The newest 64 are remembered: asking again gives the same objects.
  const again = table.fromRecord(v4Record(0x0a000000 + 999, 1), 0);
  assert.ok(seen.has(again));
  // The oldest are gone: a new object.
  assert.ok(!seen.has(table.fromRecord(v4Record(0x0a000000, 1), 0)));
  assert.ok(KEPT_GENERATION >= 40_000, 'a 40k-tunnel lighthouse fits one generation');
});

test('10000 kept senders keep their objects through 200000 distinct never-kept senders, which stay in the small table', () => {
  const table = new AddrTable();
  const kept: Array<{ meta: Uint32Array; addr: UdpAddr }> = [];
  for (let i = 0; i < 5000; i++) {
    const v4 = v4Record(((198 << 24) | (18 << 16) | i) >>> 0, 4242);
    const v6 = v6Record([0x20010db8, 0, i, 1], 4242);
    for (const meta of [v4, v6]) {
      const addr = table.fromRecord(meta, 0);
      table.keep(addr);
      kept.push({ meta, addr });
    }
  }
  const bound = 2 * 2 * HEARD_GENERATION + kept.length; // two generations per family, plus the kept
  const rand = seededRandom(7);
  for (let i = 0; i < 200_000; i++) {
    // Half IPv4, half IPv6, sources a spoofer picks at random.
    const meta =
      i % 2 === 0
        ? v4Record(Math.floor(rand() * 2 ** 32), 1 + (i % 60_000))
        : v6Record([0x20010db8, Math.floor(rand() * 2 ** 32), i, 2], 1 + (i % 60_000));
    table.fromRecord(meta, 0);
    if (i % 1000 === 0) assert.ok(table.size <= bound, `size ${table.size} > ${bound} after ${i} spoofed senders`);
  }
  assert.ok(table.size <= bound, `size ${table.size} > ${bound}`);
  for (const { meta, addr } of kept) {
    if (table.fromRecord(meta, 0) !== addr) assert.fail(`kept sender ${addr.address}:${addr.port} got a new object`);
  }
});

test('an IPv6 sender heard twice gets the same object, with the text of its words', () => {
  const table = new AddrTable();
  const rand = seededRandom(11);
  const senders = Array.from({ length: 2000 }, (_, i) => {
    const w = [0x20010db8, Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32), i];
    return { w, port: 1 + Math.floor(rand() * 65535) };
  });
  const first = senders.map((s) => table.fromRecord(v6Record(s.w, s.port), 0));
  senders.forEach((s, i) => {
    assert.deepEqual(first[i], { address: formatIpv6([6, s.w[0], s.w[1], s.w[2], s.w[3]]), port: s.port });
    assert.equal(table.fromRecord(v6Record(s.w, s.port), 0), first[i], `sender ${i} heard twice`);
  });
  // Same words, another port; same port, one word apart: other senders.
  assert.notEqual(table.fromRecord(v6Record(senders[0].w, senders[0].port ^ 1), 0), first[0]);
  const w = [...senders[0].w];
  w[3] ^= 0x100;
  assert.notEqual(table.fromRecord(v6Record(w, senders[0].port), 0), first[0]);
});

test('a sender kept from its text (not from a record) is the object its records find afterwards', () => {
  const table = new AddrTable();
  const v6 = { address: '2001:db8::5', port: 4242 };
  const v4 = { address: '192.0.2.9', port: 4242 };
  table.keep(v6);
  table.keep(v4);
  assert.equal(table.fromRecord(v6Record([0x20010db8, 0, 0, 5], 4242), 0), v6);
  assert.equal(table.fromRecord(v4Record(((192 << 24) | (2 << 8) | 9) >>> 0, 4242), 0), v4);
  table.keep({ address: 'fe80::1%eth0', port: 1 }); // not a literal we can send to: ignored
});

test('the data path keeps a sender once its packet opened under the tunnel key, and never an unauthenticated one', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'] });
  const keptAtB: UdpAddr[] = [];
  const spy: SenderCache = { keep: (from) => void keptAtB.push(from) };
  Object.defineProperty(b.node.udp, 'senders', { value: spy });
  await connect(a, b);
  assert.ok(
    keptAtB.some((k) => sameAddr(k, a.addr)),
    'a is kept',
  );
  const ab = a.tunnelTo(b)!;
  const packet = Buffer.from(
    sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: a.vpnIpText, dst: b.vpnIpText, payload: 'x' })),
  );
  packet[packet.length - 1] ^= 1; // a forgery from a stranger: the tag does not open
  const evil = mesh.net.bind('203.0.113.66', 4242);
  evil.send(packet, b.addr);
  await waitFor(() => b.node.counters.get('drops', 'outside-decrypt') === 1, { what: 'the decrypt drop' });
  assert.ok(!keptAtB.some((k) => sameAddr(k, evil.addr)), 'the stranger is not kept');
});
