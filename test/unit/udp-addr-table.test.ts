// The sender cache of batched UDP (pkg/udp/addr-record.ts): a sender seen again while it holds its slot gets the very
// same UdpAddr object, a kept (authenticated) one holds its slot against a flood of new unauthenticated senders, and
// nothing holds more than SENDER_SLOTS senders.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import { AddrTable, formatIpv6, SENDER_SLOTS, type SenderCache } from '../../pkg/udp/addr-record.js';
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

test('a sender heard again gets the same address object while it holds its slot', () => {
  const table = new AddrTable(true, 1);
  const meta = v4Record(((198 << 24) | (18 << 16) | 7) >>> 0, 4242);
  const first = table.fromRecord(meta, 0);
  table.keep(first);
  assert.deepEqual(first, { address: '198.18.0.7', port: 4242 });
  for (let i = 0; i < 100; i++) assert.equal(table.fromRecord(meta, 0), first);
});

test("a lighthouse's 10000 senders in turn each get their own text; at most SENDER_SLOTS are held", () => {
  const table = new AddrTable(true, 2);
  const base = (198 << 24) | (18 << 16);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 10_000; i++) {
      const addr = table.fromRecord(v4Record(base + (i >> 4), 10_000 + i), 0);
      table.keep(addr);
      if (addr.port !== 10_000 + i || addr.address !== `198.18.${(i >> 12) & 255}.${(i >> 4) & 255}`)
        assert.fail(`sender ${i}: ${addr.address}:${addr.port}`);
    }
  }
  assert.ok(table.size <= SENDER_SLOTS, `size ${table.size}`);
});

test('without remembering (MESH_UDP_SENDERS=0), each datagram gets a new object with its text, and nothing is held', () => {
  const table = new AddrTable(false);
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
  const table = new AddrTable(true, 3);
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

test('kept senders keep their objects through 200000 distinct never-kept senders, and no more than SENDER_SLOTS are held', () => {
  const table = new AddrTable(true, 4);
  const kept = [v4Record(((198 << 24) | (18 << 16) | 1) >>> 0, 4242), v6Record([0x20010db8, 0, 7, 1], 4242)].map(
    (meta) => {
      const addr = table.fromRecord(meta, 0);
      table.keep(addr);
      return { meta, addr };
    },
  );
  const rand = seededRandom(7);
  for (let i = 0; i < 200_000; i++) {
    // Half IPv4, half IPv6, sources a spoofer picks at random.
    const meta =
      i % 2 === 0
        ? v4Record(Math.floor(rand() * 2 ** 32), 1 + (i % 60_000))
        : v6Record([0x20010db8, Math.floor(rand() * 2 ** 32), i, 2], 1 + (i % 60_000));
    table.fromRecord(meta, 0);
    if (i % 1000 === 0) assert.ok(table.size <= SENDER_SLOTS, `size ${table.size} after ${i} spoofed senders`);
  }
  for (const { meta, addr } of kept) {
    if (table.fromRecord(meta, 0) !== addr) assert.fail(`kept sender ${addr.address}:${addr.port} got a new object`);
  }
});

test('an IPv6 sender heard again gets the same object, with the text of its words; another port or word is another sender', () => {
  const table = new AddrTable(true, 5);
  const rand = seededRandom(11);
  for (let i = 0; i < 2000; i++) {
    const w = [0x20010db8, Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32), i];
    const port = 1 + Math.floor(rand() * 65535);
    const first = table.fromRecord(v6Record(w, port), 0);
    assert.deepEqual(first, { address: formatIpv6([6, w[0], w[1], w[2], w[3]]), port });
    assert.equal(table.fromRecord(v6Record(w, port), 0), first, `sender ${i} heard twice`);
    assert.notEqual(table.fromRecord(v6Record(w, port ^ 1), 0), first);
    const other = [...w];
    other[3] ^= 0x100;
    assert.notEqual(table.fromRecord(v6Record(other, port), 0), first);
  }
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
