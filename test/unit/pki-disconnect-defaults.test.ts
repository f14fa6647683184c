// pki.disconnect_invalid defaults to true (Nebula 1.8+), a blocklisted peer's tunnel is closed on reload whatever
// disconnect_invalid says (Nebula 1.7+), and a reloaded certificate's unsafe networks reach the firewall (1.11).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, unixMs } from '../../pkg/clock/clock.js';
import type { MeshConfig } from '../../pkg/config/index.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { makeHostCert, makeTestCa, testPki, type TestCa } from './helpers/pki.js';
import { udpPacket } from './helpers/packets.js';
import { UDP, ipv4Packet } from './firewall-fixtures.js';

const A = '10.99.0.1';
const B = '10.99.0.2';

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test(
  'without the key, a tunnel is closed when its peer certificate expires (disconnect_invalid: true by default)',
  { timeout: 5000 },
  async (t) => {
    const clock = new ManualClock(1_000_000);
    const mesh = new TestMesh(t);
    const notAfter = Math.floor((unixMs(clock) + 5500) / 1000);
    const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock });
    const b = await mesh.node({
      vpnIp: B,
      name: 'b',
      peers: [A],
      clock,
      cert: makeHostCert(mesh.ca, { name: 'b', ip: `${B}/24`, notAfter }),
    });
    await connect(a, b);
    assert.equal(a.node.currentConfig().pki.disconnectInvalid, true);
    for (let step = 0; unixMs(clock) < notAfter * 1000 + 2000; step++) {
      clock.advance(100);
      a.tun.inject(udpPacket({ src: A, dst: B, payload: `a ${step}` }));
      await settle();
    }
    assert.equal(a.tunnelTo(b), undefined);
    assert.equal(a.node.counters.get('tunnels-closed', 'invalid-cert'), 1);
  },
);

/** Applies a reload to `a` with the given pki settings, trusting `trusted`, blocking `blocklist`. */
function reload(a: TestNode, disconnectInvalid: boolean, trusted: TestCa[], blocklist: string[]): void {
  const current = a.node.currentConfig();
  const config: MeshConfig = { ...current, pki: { ...current.pki, disconnectInvalid, blocklist } };
  a.node.applyReload({
    config,
    pki: testPki(a.cert, trusted, blocklist),
    rules: a.node.firewall().currentRules,
    staticHosts: new Map(),
  });
}

test('a reload that blocklists a peer closes its tunnel even with disconnect_invalid: false', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], config: { pki: { disconnect_invalid: false } } });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  await connect(a, b);
  reload(a, false, [mesh.ca], []);
  assert.ok(a.tunnelTo(b), 'a reload that changes nothing keeps the tunnel');
  reload(a, false, [mesh.ca], [b.cert.fingerprint]);
  assert.equal(a.tunnelTo(b), undefined, 'blocklisted: closed');
  assert.equal(a.node.counters.get('tunnels-closed', 'invalid-cert'), 1);
});

test('a reload that stops trusting a peer CA closes its tunnel only with disconnect_invalid', async (t) => {
  const mesh = new TestMesh(t);
  const other = makeTestCa('another CA');
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], config: { pki: { disconnect_invalid: false } } });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  await connect(a, b);
  reload(a, false, [other], []);
  assert.ok(a.tunnelTo(b), 'disconnect_invalid: false keeps it');
  reload(a, true, [other], []);
  assert.equal(a.tunnelTo(b), undefined, 'disconnect_invalid: true closes it');
});

test("a reload with a certificate that adds an unsafe network lets the firewall take that network's packets (Nebula 1.11)", async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({
    vpnIp: A,
    name: 'a',
    peers: [B],
    config: {
      firewall: {
        outbound: [{ port: 'any', proto: 'any', host: 'any' }],
        inbound: [{ port: 'any', proto: 'any', host: 'any', local_cidr: 'any' }],
      },
    },
  });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  await connect(a, b);
  const toSubnet = ipv4Packet({ src: B, dst: '192.168.200.7', proto: UDP, srcPort: 1000, dstPort: 53 });
  const peer = a.tunnelTo(b)!.peer;
  assert.equal(a.node.firewall().filter(toSubnet, true, peer), 'local-not-ours');
  const withSubnet = makeHostCert(mesh.ca, { name: 'a', ip: `${A}/24`, subnets: ['192.168.200.0/24'] });
  const current = a.node.currentConfig();
  a.node.applyReload({
    config: current,
    pki: testPki(withSubnet, [mesh.ca]),
    rules: a.node.firewall().currentRules,
    staticHosts: new Map(),
  });
  assert.equal(a.node.firewall().filter(toSubnet, true, peer), null);
});
