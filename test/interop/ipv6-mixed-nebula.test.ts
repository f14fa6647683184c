import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from '../e2e/lab/lab.js';
import { meshImpl } from '../e2e/lab/mesh-impl.js';
import { nebulaImpl } from '../e2e/lab/nebula-impl.js';
import { OverlayNet } from '../e2e/lab/overlay-net.js';
import { assertPings, assertTransfers } from '../e2e/lab/overlay-check.js';

// A v1-only nebula 1.6.1 node in the same network as dual-stack mesh nodes (issue 18): the mesh nodes and the mesh
// lighthouse hold a v1+v2 bundle on one key (v2: 10.99.0.n/24 and <ULA>::n/64; v1: the IPv4 network), nebula
// holds a v1 certificate. 1.6.1 reads v1 only, so everything it does stays IPv4 and v1: its handshakes are answered
// with the v1 certificate, and the lighthouse answers it in v1 messages without IPv6 information (Nebula 1.10's
// rule for a v1 peer, docs/ipv6.md).

test(
  'nebula 1.6.1 (v1 only) keeps working over IPv4 with dual-stack mesh nodes holding v1+v2 bundles and a mesh lighthouse',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb, hn] = await lab.flat(4, ['lh', 'a', 'b', 'neb']);
    const net = await OverlayNet.create(lab, { ipv6: true });
    const lh = await net.start(hl!, { name: 'lh', impl: meshImpl, lighthouse: true, certVersion: '1+2' });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl, certVersion: '1+2' });
    const b = await net.start(hb!, { name: 'b', impl: meshImpl, certVersion: '1+2' });
    const n = await net.start(hn!, { name: 'neb', impl: nebulaImpl });
    assert.deepEqual(n.vpnIps, [n.vpnIp4], 'the nebula node has one IPv4 address');
    // nebula finds the mesh nodes through the mesh lighthouse, and they find it.
    for (const to of [a, b, lh]) await assertPings(lab, n, to, 4);
    for (const from of [a, b, lh]) await assertPings(lab, from, n, 4);
    await assertTransfers(lab, n, a, 4);
    await assertTransfers(lab, a, n, 4);
    // The mesh nodes among themselves, over IPv4 (their default initiating version is 1, as Nebula 1.10's with a v1
    // certificate held, so they meet in v1 too).
    await assertPings(lab, a, b, 4);
    assert.doesNotMatch(n.log(), /level=error/, 'nebula logged no error');
  },
);

test(
  'with pki.initiating_version 2 the bundled mesh nodes also reach each other over IPv6 while nebula 1.6.1 still reaches them over IPv4',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb, hn] = await lab.flat(4, ['lh', 'a', 'b', 'neb']);
    const net = await OverlayNet.create(lab, { ipv6: true });
    const v2first = { pki: { initiating_version: 2 } };
    await net.start(hl!, { name: 'lh', impl: meshImpl, lighthouse: true, certVersion: '1+2' });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl, certVersion: '1+2', config: v2first });
    const b = await net.start(hb!, { name: 'b', impl: meshImpl, certVersion: '1+2', config: v2first });
    const n = await net.start(hn!, { name: 'neb', impl: nebulaImpl });
    await assertPings(lab, a, b, 6);
    await assertPings(lab, b, a, 6);
    await assertTransfers(lab, a, b, 6);
    // nebula starts its tunnels (a v2 first message from mesh would be unreadable to 1.6.1, as with Nebula 1.10).
    await assertPings(lab, n, a, 4);
    await assertPings(lab, a, n, 4);
    await assertPings(lab, n, b, 4);
  },
);

test(
  'a dual-stack mesh relay holding a v1+v2 bundle relays between two nebula 1.6.1 nodes in v1 (IPv4 relay messages)',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hr, h1, h2] = await lab.flat(3, ['relay', 'neb1', 'neb2']);
    const net = await OverlayNet.create(lab, { ipv6: true });
    const onlyRelay = { lighthouse: { remote_allow_list: { [`${hr!.ip}/32`]: true } } };
    const relay = await net.start(hr!, {
      name: 'relay',
      impl: meshImpl,
      lighthouse: true,
      relay: true,
      certVersion: '1+2',
    });
    const n1 = await net.start(h1!, { name: 'neb1', impl: nebulaImpl, config: onlyRelay });
    const n2 = await net.start(h2!, { name: 'neb2', impl: nebulaImpl, config: onlyRelay });
    assert.deepEqual(
      n1.config.relay,
      { am_relay: false, use_relays: true, relays: [relay.address(4)] },
      'nebula names the relay by its IPv4 address',
    );
    const direct = await lab.trafficCounter(h2!, { hook: 'input', saddr: h1!.ip, minUdpLength: 40 });
    await assertPings(lab, n1, n2, 4, { timeoutMs: 30_000 });
    await assertPings(lab, n2, n1, 4);
    // 1.6.1 logs the relay's answer to its CreateRelay request (relay_manager.go) when the relayed path is set up.
    assert.match(
      n1.log() + n2.log(),
      /handleCreateRelayResponse/,
      `a nebula node got the relay's CreateRelay response\n${lab.logTails(20)}`,
    );
    assert.equal((await direct.read()).packets, 0, 'no datagram went directly neb1 -> neb2');
    assert.doesNotMatch(n1.log() + n2.log(), /level=error/, 'nebula logged no error');
  },
);
