import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { CaPool } from '../../pkg/cert/index.js';
import type { Pki } from '../../pkg/daemon/pki.js';
import { identityOf } from '../../pkg/handshake/identity.js';
import { ipv6Packet, UDP } from './firewall-fixtures.js';
import { TestMesh } from './helpers/mesh.js';
import { makeHostCertV2, makeTestCaV2, type TestCaV2 } from './helpers/pki-v2.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';
import { udpPacket } from './helpers/packets.js';
import { udpAddr } from '../../pkg/udp/addr.js';

// lighthouse.remote_allow_ranges with an IPv6 overlay range judges IPv6-only peers inside it by its own list
// (docs/ipv6.md, "Handshake address rules" 5).

const FAST = { handshakes: { try_interval: '20ms', retries: 3 } };

function pkiFor(ca: TestCaV2, name: string, networks: string[]): Pki {
  const host = makeHostCertV2(ca, { name, networks });
  const caPool = new CaPool();
  caPool.addCaV2(ca.cert);
  return { caPool, identity: identityOf({ v2: host.v2 }, host.privateKey), warnings: [] };
}

test('an IPv6 remote_allow_ranges key applies to IPv6 peers inside it; peers outside it keep remote_allow_list', async (t) => {
  const ca = makeTestCaV2();
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const config = {
    ...FAST,
    lighthouse: {
      remote_allow_list: { '198.51.100.0/24': true },
      remote_allow_ranges: { 'fd00:99::/120': { '198.51.100.2/32': false, '0.0.0.0/0': true } },
    },
  };
  // The underlay addresses come from the vpnIp option (198.51.100.<last octet>); the overlay ones from the certs.
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', config, pki: pkiFor(ca, 'a', ['fd00:99::1/64']) });
  const b = await mesh.node({
    vpnIp: '10.99.0.2',
    name: 'b',
    config: FAST,
    pki: pkiFor(ca, 'b', ['fd00:99::2/64']),
    staticHostMap: { 'fd00:99::1': ['198.51.100.1:4242'] },
  });
  const c = await mesh.node({
    vpnIp: '10.99.0.6',
    name: 'c',
    config: FAST,
    pki: pkiFor(ca, 'c', ['fd00:99::106/64']),
    staticHostMap: { 'fd00:99::1': ['198.51.100.1:4242'] },
  });
  c.tun.inject(ipv6Packet({ src: 'fd00:99::106', dst: 'fd00:99::1', proto: UDP, srcPort: 1, dstPort: 2, payload: 4 }));
  await advanceUntil(clock, () => a.node.hostmap.get('fd00:99::106') !== undefined && a.tun.written.length > 0, {
    what: () => a.logs.join('\n'),
  });
  b.tun.inject(ipv6Packet({ src: 'fd00:99::2', dst: 'fd00:99::1', proto: UDP, srcPort: 1, dstPort: 2, payload: 4 }));
  await advanceUntil(clock, () => (a.node.counters.get('drops', 'handshake-remote-denied') ?? 0) > 0, {
    what: () => a.logs.join('\n'),
  });
  await advanceFor(clock, 50);
  assert.equal(a.node.hostmap.get('fd00:99::2'), undefined, 'b, inside the IPv6 range, is refused by its list');
});

test("roaming is judged by every address of the peer: a dual-stack peer may not roam to an address its IPv6 range's list denies", async (t) => {
  const ca = makeTestCaV2();
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const config = {
    ...FAST,
    lighthouse: { remote_allow_ranges: { 'fd00:99::/120': { '198.51.100.9/32': false, '0.0.0.0/0': true } } },
  };
  const a = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'a',
    config,
    pki: pkiFor(ca, 'a', ['10.99.0.1/24', 'fd00:99::1/64']),
  });
  const b = await mesh.node({
    vpnIp: '10.99.0.2',
    name: 'b',
    config: FAST,
    pki: pkiFor(ca, 'b', ['10.99.0.2/24', 'fd00:99::2/64']),
    staticHostMap: { '10.99.0.1': ['198.51.100.1:4242'] },
  });
  b.tun.inject(udpPacket({ src: '10.99.0.2', dst: '10.99.0.1', payload: 'one' }));
  await advanceUntil(clock, () => a.tun.written.length > 0, { what: () => a.logs.join('\n') });
  // b's next packet, captured and replayed from another underlay address: authentic, so it would roam the tunnel.
  let captured: Uint8Array | null = null;
  mesh.net.drop = (p, from, to) => {
    if (captured === null && from.address === '198.51.100.2' && to.address === '198.51.100.1') {
      captured = Uint8Array.from(p);
      return true;
    }
    return false;
  };
  b.tun.inject(udpPacket({ src: '10.99.0.2', dst: '10.99.0.1', payload: 'two' }));
  await advanceUntil(clock, () => captured !== null);
  mesh.net.drop = () => false;
  mesh.net.deliver(captured!, udpAddr('198.51.100.9', 4242), udpAddr('198.51.100.1', 4242));
  await advanceUntil(clock, () => (a.node.counters.get('drops', 'roam-denied') ?? 0) > 0, {
    what: () => a.logs.join('\n'),
  });
  assert.equal(a.node.hostmap.get('fd00:99::2')?.remote?.address, '198.51.100.2', 'still at its old address');
});
