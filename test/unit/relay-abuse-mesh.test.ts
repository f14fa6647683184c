import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { sendOnTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import { parseIpv4, type Ipv4 } from '../../pkg/ip/ipv4.js';
import { ControlType, encodeControl } from '../../pkg/relay/control.js';
import { MAX_RELAY_HANDSHAKES_PER_REQUESTER } from '../../pkg/relay/handshake-quota.js';
import { MAX_RELAYS_PER_HOP } from '../../pkg/relay/relay-table.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { makeHostCert } from './helpers/pki.js';
import { advanceUntil } from './helpers/wait.js';

// Real MeshNodes on a MemoryNetwork: an authenticated peer sends CreateRelayRequests over its tunnel and the node's
// wiring (VPN network, relay.relays, handshake manager, logger) keeps what they cost bounded (docs/security-model.md).

const R = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';

async function tunnel(clock: ManualClock, from: TestNode, to: TestNode): Promise<void> {
  from.node.handshakes.start(to.vpnIp);
  await advanceUntil(clock, () => from.tunnelTo(to) && to.tunnelTo(from), {
    what: `a tunnel ${from.vpnIpText} -> ${to.vpnIpText}`,
  });
}

function sendRequests(
  from: TestNode,
  to: TestNode,
  n: number,
  far: (i: number) => Ipv4,
  target: (i: number) => Ipv4,
): void {
  const host = from.tunnelTo(to)!;
  for (let i = 0; i < n; i++) {
    const m = {
      type: ControlType.CreateRelayRequest,
      initiatorRelayIndex: i + 1,
      responderRelayIndex: 0,
      relayFromIp: far(i),
      relayToIp: target(i),
    };
    sendOnTunnel(from.node, host, MessageType.Control, 0, encodeControl(m));
  }
}

test('a relay node starts no handshake outside its network and at most its quota for one requester', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const r = await mesh.node({ vpnIp: R, name: 'relay', tun: null, config: { relay: { am_relay: true } } });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [R] });
  await tunnel(clock, a, r);
  const started = r.node.counters.get('handshakes', 'started');

  sendRequests(
    a,
    r,
    5000,
    () => a.vpnIp,
    (i) => (parseIpv4('192.0.2.0') + i) >>> 0,
  );
  await advanceUntil(clock, () => r.node.counters.get('drops', 'relay-request-target-outside-network') === 5000, {
    what: '5000 requests at r',
  });
  assert.equal(r.node.counters.get('handshakes', 'started'), started);

  sendRequests(
    a,
    r,
    200,
    () => a.vpnIp,
    (i) => parseIpv4(`10.99.0.${30 + i}`),
  );
  await advanceUntil(
    clock,
    () => r.node.counters.get('drops', 'relay-request-handshake-quota') === 200 - MAX_RELAY_HANDSHAKES_PER_REQUESTER,
    {
      what: () => `quota drops at r: ${JSON.stringify(r.node.counters.snapshot().drops)}`,
    },
  );
  assert.equal(r.node.counters.get('handshakes', 'started') - started, MAX_RELAY_HANDSHAKES_PER_REQUESTER);
  assert.equal(r.node.handshakes.pending.size, MAX_RELAY_HANDSHAKES_PER_REQUESTER);
});

test('a target node keeps at most the per-hop bound of entries and logs a few lines for a flood of far ends', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const wide = (vpnIp: string, name: string) => makeHostCert(mesh.ca, { name, ip: `${vpnIp}/16` });
  const r = await mesh.node({
    vpnIp: R,
    name: 'relay',
    tun: null,
    cert: wide(R, 'relay'),
    config: { relay: { am_relay: true } },
  });
  const b = await mesh.node({
    vpnIp: B,
    name: 'b',
    peers: [R],
    cert: wide(B, 'b'),
    config: { relay: { relays: [R] } },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], cert: wide(A, 'a') });
  await tunnel(clock, b, r);
  await tunnel(clock, a, b);

  const n = 3000;
  sendRequests(
    r,
    b,
    n,
    (i) => parseIpv4(`10.99.${1 + (i >> 8)}.${i & 0xff}`),
    () => b.vpnIp,
  );
  await advanceUntil(clock, () => b.node.counters.get('relay', 'evicted-hop-full') === n - MAX_RELAYS_PER_HOP, {
    what: () => `evictions at b: ${b.node.counters.get('relay', 'evicted-hop-full')}`,
  });
  assert.equal(b.node.relays.table.size, MAX_RELAYS_PER_HOP);
  assert.ok(b.logs.filter((l) => l.includes('Relay established as target')).length <= 10);

  // a is no relay b advertises: nothing it asks for is kept.
  sendRequests(
    a,
    b,
    50,
    (i) => parseIpv4(`10.99.200.${i}`),
    () => b.vpnIp,
  );
  await advanceUntil(clock, () => b.node.counters.get('drops', 'relay-request-hop-not-our-relay') === 50, {
    what: 'requests through a at b',
  });
  assert.equal(b.node.relays.table.countOnHop(a.vpnIp), 0);
});
