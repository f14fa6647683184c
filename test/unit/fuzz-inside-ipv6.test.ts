// Fuzzing the inside pipeline's IPv6 path (docs/ipv6.md, "Data path") on a live dual-stack node: mutated and
// random packets from the TUN (valid IPv6 UDP/ICMPv6 samples to peers, to ourselves, to multicast and link-local
// destinations, flipped, cut, spliced, with the version nibble forced to 6). Properties:
//   - nothing throws (TestMesh fails the test on any caught or escaped exception)
//   - a handshake starts only toward a routable address: inside one of our networks, not ours, not multicast or
//     link-local, not IPv4-mapped
//   - afterwards an IPv6 packet still reaches the peer

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CaPool } from '../../pkg/cert/index.js';
import type { Pki } from '../../pkg/daemon/pki.js';
import { identityOf } from '../../pkg/handshake/identity.js';
import { inNetworks } from '../../pkg/handshake/peer-addrs.js';
import { ICMPV6, ipv6Packet, UDP } from './firewall-fixtures.js';
import { mutate, randomBytes, runFuzz } from './helpers/fuzz.js';
import { TestMesh } from './helpers/mesh.js';
import { makeHostCertV2, makeTestCaV2, type TestCaV2 } from './helpers/pki-v2.js';
import { waitFor } from './helpers/wait.js';

function pkiFor(ca: TestCaV2, name: string, networks: string[]): Pki {
  const host = makeHostCertV2(ca, { name, networks });
  const caPool = new CaPool();
  caPool.addCaV2(ca.cert);
  return { caPool, identity: identityOf({ v2: host.v2 }, host.privateKey), warnings: [] };
}

test('fuzz the inside IPv6 path: no exception, handshakes only toward routable addresses, traffic still flows', async (t) => {
  const ca = makeTestCaV2();
  const mesh = new TestMesh(t);
  const fast = { handshakes: { try_interval: '20ms', retries: 1 } };
  const pa = pkiFor(ca, 'a', ['10.99.0.1/24', 'fd00:99::1/64']);
  const a = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'a',
    config: fast,
    pki: pa,
    staticHostMap: { 'fd00:99::2': ['198.51.100.2:4242'] },
  });
  const b = await mesh.node({
    vpnIp: '10.99.0.2',
    name: 'b',
    config: fast,
    pki: pkiFor(ca, 'b', ['10.99.0.2/24', 'fd00:99::2/64']),
  });
  const dsts = [
    'fd00:99::2',
    'fd00:99::1',
    'ff02::2',
    'ff02::16',
    'fe80::1',
    '::',
    '::1',
    '::ffff:10.99.0.2',
    'fd00:99::7',
    'fd01::1',
    '2001:db8::1',
  ];
  const samples = dsts.flatMap((dst) => [
    ipv6Packet({ src: 'fd00:99::1', dst, proto: UDP, srcPort: 5000, dstPort: 53, payload: 20 }),
    ipv6Packet({ src: 'fe80::1', dst, proto: ICMPV6, icmpType: 133, payload: 8 }),
  ]);
  const started: string[] = [];
  const start = a.node.handshakes.start.bind(a.node.handshakes);
  a.node.handshakes.start = (vpnIp, ...rest) => {
    started.push(String(vpnIp));
    return start(vpnIp, ...rest);
  };
  runFuzz('inside IPv6 packets', { iterations: 3000, minIterations: 300, ms: 3000 }, (r) => {
    const packet = r.chance(0.1) ? randomBytes(r, 80) : mutate(r, r.pick(samples), samples, 3, 256);
    if (packet.length > 0 && r.chance(0.8)) packet[0] = 0x60 | (packet[0] & 0x0f);
    a.tun.inject(packet);
  });
  for (const dst of started) {
    const addr = /^\d+$/.test(dst) ? Number(dst) : dst;
    assert.ok(inNetworks(addr, pa.identity.vpnNetworks), `handshake toward ${dst}, outside our networks`);
    assert.ok(!pa.identity.vpnAddrs.includes(addr), `handshake toward ourselves (${dst})`);
  }
  assert.ok(started.length > 0, 'the samples to the peer started a handshake');
  const before = b.tun.written.length;
  a.tun.inject(samples[0]);
  await waitFor(() => b.tun.written.length > before, { what: () => `${a.logs.join('\n')}\n${b.logs.join('\n')}` });
});
