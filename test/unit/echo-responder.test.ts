import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CaPool } from '../../pkg/cert/index.js';
import type { Pki } from '../../pkg/daemon/pki.js';
import { icmpEchoReply } from '../../pkg/datapath/echo-responder.js';
import { identityOf } from '../../pkg/handshake/identity.js';
import { TestMesh } from './helpers/mesh.js';
import { icmpEcho, isIcmpEcho } from './helpers/packets.js';
import { makeHostCertV2, makeTestCaV2, type TestCaV2 } from './helpers/pki-v2.js';
import { waitFor } from './helpers/wait.js';

// tun.disabled answers ping on the overlay address, as Nebula's disabled device does (pkg/datapath/echo-responder.ts).

/** RFC 1071 written out independently of pkg/firewall/checksum.ts: 0 when the checksummed range is intact. */
function sumOk(b: Uint8Array, start: number, end: number): boolean {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) + (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

test('an echo request becomes its reply: addresses swapped, type 0, id/seq/payload kept, both checksums valid', () => {
  const request = icmpEcho('10.99.0.2', '10.99.0.1', 8, 42);
  const reply = icmpEchoReply(request)!;
  assert.ok(reply);
  assert.equal(reply.length, request.length);
  assert.deepEqual([...reply.subarray(12, 16)], [10, 99, 0, 1]);
  assert.deepEqual([...reply.subarray(16, 20)], [10, 99, 0, 2]);
  assert.equal(reply[20], 0);
  assert.deepEqual([...reply.subarray(24, 28)], [...request.subarray(24, 28)]);
  assert.ok(sumOk(reply, 0, 20), 'IP header checksum');
  assert.ok(sumOk(reply, 20, 28), 'ICMP checksum');
  assert.ok(sumOk(request, 20, 28), 'the request it answered was valid too');
});

test('anything but an intact, unfragmented IPv4 echo request gets no reply', () => {
  const request = icmpEcho('10.99.0.2', '10.99.0.1', 8);
  const variants: Record<string, Uint8Array> = {
    'echo reply': icmpEcho('10.99.0.2', '10.99.0.1', 0),
    truncated: request.subarray(0, 27),
    'bad ICMP checksum': Uint8Array.from(request, (b, i) => (i === 27 ? b ^ 1 : b)),
    'more fragments': Uint8Array.from(request, (b, i) => (i === 6 ? 0x20 : b)),
    'fragment offset': Uint8Array.from(request, (b, i) => (i === 7 ? 1 : b)),
    'not ICMP': Uint8Array.from(request, (b, i) => (i === 9 ? 17 : b)),
    'code 1': Uint8Array.from(request, (b, i) => (i === 21 ? 1 : b)),
    IPv6: Uint8Array.from(request, (b, i) => (i === 0 ? 0x60 : b)),
    'total length beyond the packet': Uint8Array.from(request, (b, i) => (i === 3 ? 60 : b)),
    empty: new Uint8Array(0),
  };
  for (const [name, packet] of Object.entries(variants)) assert.equal(icmpEchoReply(packet), null, name);
});

/** An ICMPv6 echo request fd00::2 -> `dst` (fd00::1) with `extra` bytes after it, its checksum computed here. */
function echo6(
  type: number,
  seq: number,
  dst = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  extra = 0,
  src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
): Uint8Array {
  const data = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
  const len = 8 + data.length;
  const p = new Uint8Array(40 + len + extra);
  p.set([0x60, 0, 0, 0, len >> 8, len & 0xff, 58, 9]);
  p.set(src, 8);
  p.set(dst, 24);
  p.set([type, 0, 0, 0, 0x12, 0x34, seq >> 8, seq & 0xff, ...data], 40);
  p.fill(0xee, 40 + len);
  const c = icmp6Sum(p, len);
  p[42] = c >> 8;
  p[43] = c & 0xff;
  return p;
}

/** The ICMPv6 checksum over the pseudo-header (RFC 4443 2.3), written out here; 0 when the message is intact. */
function icmp6Sum(p: Uint8Array, len: number): number {
  let s = len + 58;
  for (let i = 8; i < 40; i += 2) s += (p[i] << 8) + p[i + 1];
  for (let i = 40; i < 40 + len; i += 2) s += (p[i] << 8) + (i + 1 < 40 + len ? p[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

test('an ICMPv6 echo request becomes its reply: addresses swapped, type 129, id/seq/data kept, checksum over the pseudo-header', () => {
  const request = echo6(128, 42, undefined, 5);
  const reply = icmpEchoReply(request)!;
  assert.ok(reply);
  assert.equal(reply.length, 40 + 15, 'trailing bytes past the payload length are not echoed');
  assert.deepEqual(reply.subarray(8, 24), request.subarray(24, 40));
  assert.deepEqual(reply.subarray(24, 40), request.subarray(8, 24));
  assert.equal(reply[6], 58);
  assert.equal(reply[7], 64, 'hop limit of a fresh packet');
  assert.equal(reply[40], 129);
  assert.deepEqual(reply.subarray(44, 55), request.subarray(44, 55));
  assert.equal(icmp6Sum(reply, 15), 0, 'ICMPv6 checksum');
  assert.equal(icmp6Sum(request, 15), 0, 'the request it answered was valid too');
});

test('anything but an intact ICMPv6 echo request to a unicast address, right behind the IPv6 header, gets no reply', () => {
  const request = echo6(128, 1);
  const hopByHop = new Uint8Array(request.length + 8);
  hopByHop.set(request.subarray(0, 40));
  hopByHop[6] = 0;
  hopByHop[5] += 8;
  hopByHop.set([58, 0, 1, 4, 0, 0, 0, 0], 40);
  hopByHop.set(request.subarray(40), 48);
  const variants: Record<string, Uint8Array> = {
    'echo reply': echo6(129, 1),
    'to a multicast group': echo6(128, 1, [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    'behind a hop-by-hop header': hopByHop,
    truncated: request.subarray(0, 47),
    'bad checksum': Uint8Array.from(request, (b, i) => (i === 50 ? b ^ 1 : b)),
    'code 1': Uint8Array.from(request, (b, i) => (i === 41 ? 1 : b)),
    'not ICMPv6': Uint8Array.from(request, (b, i) => (i === 6 ? 17 : b)),
    'payload length beyond the packet': Uint8Array.from(request, (b, i) => (i === 5 ? b + 1 : b)),
    'payload length under 8': Uint8Array.from(request, (b, i) => (i === 5 ? 7 : b)),
  };
  for (const [name, packet] of Object.entries(variants)) assert.equal(icmpEchoReply(packet), null, name);
  assert.ok(icmpEchoReply(request), 'the unaltered request is answered');
});

test('a node with tun disabled answers a ping through the tunnel it came from, and only a ping', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.2', name: 'a', peers: ['10.99.0.1'] });
  const lh = await mesh.node({ vpnIp: '10.99.0.1', name: 'lh', peers: ['10.99.0.2'], tun: null });
  // The ping itself makes a handshake with lh (queued meanwhile): lh has no TUN to start one from.
  const before = a.tun.written.length;
  a.tun.inject(icmpEcho('10.99.0.2', '10.99.0.1', 8, 5));
  await waitFor(() => a.tun.written.length > before, { what: 'the echo reply on a' });
  const reply = a.tun.written.at(-1)!;
  assert.ok(isIcmpEcho(reply, 0));
  assert.equal((reply[26] << 8) | reply[27], 5);
  assert.equal(lh.node.counters.get('echo-replies'), 1);

  // Anything else that reaches lh is not answered.
  a.tun.inject(icmpEcho('10.99.0.2', '10.99.0.1', 0, 6));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.tun.written.length, before + 1);
  assert.equal(lh.node.counters.get('echo-replies'), 1);
});

function pkiFor(ca: TestCaV2, name: string, networks: string[]): Pki {
  const host = makeHostCertV2(ca, { name, networks });
  const caPool = new CaPool();
  caPool.addCaV2(ca.cert);
  return { caPool, identity: identityOf({ v2: host.v2 }, host.privateKey), warnings: [] };
}

test('a dual-stack node with tun disabled answers an IPv6 ping on its IPv6 address through the tunnel', async (t) => {
  const ca = makeTestCaV2();
  const mesh = new TestMesh(t);
  const a = await mesh.node({
    vpnIp: '10.99.0.2',
    name: 'a',
    staticHostMap: { 'fd00:99::1': ['198.51.100.1:4242'] },
    pki: pkiFor(ca, 'a', ['10.99.0.2/24', 'fd00:99::2/64']),
  });
  const lh = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'lh',
    peers: ['10.99.0.2'],
    tun: null,
    pki: pkiFor(ca, 'lh', ['10.99.0.1/24', 'fd00:99::1/64']),
  });
  const v6 = (last: number): number[] => [0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  const before = a.tun.written.length;
  a.tun.inject(echo6(128, 9, v6(1), 0, v6(2)));
  await waitFor(() => a.tun.written.length > before, {
    what: () => `the ICMPv6 echo reply on a\n${a.logs.join('\n')}\n${lh.logs.join('\n')}`,
  });
  const reply = a.tun.written.at(-1)!;
  assert.equal(reply[0] >> 4, 6);
  assert.equal(reply[40], 129);
  assert.deepEqual([...reply.subarray(8, 24)], v6(1), 'from the address pinged');
  assert.deepEqual([...reply.subarray(24, 40)], v6(2));
  assert.equal((reply[46] << 8) | reply[47], 9);
  assert.equal(icmp6Sum(reply, (reply[4] << 8) | reply[5]), 0);
  assert.equal(lh.node.counters.get('echo-replies'), 1);
});
