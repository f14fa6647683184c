import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpv4, type Ipv4 } from '../../pkg/ip/ipv4.js';
import { ControlType } from '../../pkg/relay/control.js';
import { MAX_RELAY_HANDSHAKES, MAX_RELAY_HANDSHAKES_PER_REQUESTER } from '../../pkg/relay/handshake-quota.js';
import { MAX_RELAYS_PER_HOP } from '../../pkg/relay/relay-table.js';
import { relayEnv, relayRequest } from './helpers/relay-env.js';

// What one peer can make a node hold or send through relay requests (docs/security-model.md): a bounded number of
// entries per hop, handshakes only toward our own network and within a per-requester and a global quota, and a
// bounded number of log lines.

const R = parseIpv4('10.99.0.1');
const A = parseIpv4('10.99.0.10');
const B = parseIpv4('10.99.0.20');
const R2 = parseIpv4('10.99.0.2');
const inNet = (i: number): Ipv4 => (parseIpv4('10.99.1.0') + i) >>> 0;

test('135k requests naming us as target with distinct far ends leave at most the per-hop bound of entries', () => {
  const b = relayEnv(B, { tunnels: [R, R2], relaysForUs: [R, R2], vpnNet: '10.0.0.0/8' });
  b.manager.onControl(b.tunnel(R2), relayRequest(7, A, B));
  const onOtherHop = b.sent[0].m.responderRelayIndex;
  const n = 135_000;
  for (let i = 0; i < n; i++) b.manager.onControl(b.tunnel(R), relayRequest(i + 1, inNet(i), B));

  assert.equal(b.manager.table.countOnHop(R), MAX_RELAYS_PER_HOP);
  assert.equal(b.manager.table.size, MAX_RELAYS_PER_HOP + 1);
  assert.ok(b.manager.table.byIndex.has(onOtherHop), "another hop's entry is untouched");
  assert.equal(b.counters.get('relay', 'evicted-hop-full'), n - MAX_RELAYS_PER_HOP);
  // The oldest made room: the newest entries are the ones kept.
  assert.ok(b.manager.table.get(R, inNet(n - 1)));
  assert.equal(b.manager.table.get(R, inNet(0)), undefined);
  assert.equal(b.sent.length, n + 1, 'one response per request, never more');
  const targetLines = b.logLines.filter((l) => l.includes('Relay established as target'));
  assert.ok(targetLines.length <= 10, `${targetLines.length} log lines`);

  b.manager.table.forgetTunnel(R);
  assert.equal(b.manager.table.countOnHop(R), 0);
  assert.equal(b.manager.table.size, 1);
});

test('as the target, a request through a hop we do not advertise as our relay is dropped', () => {
  const b = relayEnv(B, { tunnels: [R, A], relaysForUs: [R] });
  b.manager.onControl(b.tunnel(A), relayRequest(1, parseIpv4('10.99.0.30'), B));
  assert.equal(b.counters.get('drops', 'relay-request-hop-not-our-relay'), 1);
  assert.deepEqual(b.sent, []);
  assert.equal(b.manager.table.size, 0);
});

test('as the target, a far end outside our VPN network, or the hop itself, is dropped', () => {
  const b = relayEnv(B, { tunnels: [R], relaysForUs: [R] });
  for (const far of [parseIpv4('192.0.2.7'), parseIpv4('10.100.0.1'), R, B])
    b.manager.onControl(b.tunnel(R), relayRequest(1, far, B));
  assert.equal(b.counters.get('drops', 'relay-request-bad-far-end'), 4);
  assert.deepEqual(b.sent, []);
  assert.equal(b.manager.table.size, 0);
});

test('a relay starts no handshake toward a target outside its VPN network', () => {
  const r = relayEnv(R, { amRelay: true, tunnels: [A] });
  for (let i = 0; i < 5000; i++)
    r.manager.onControl(r.tunnel(A), relayRequest(i + 1, A, (parseIpv4('192.0.2.0') + i) >>> 0));
  assert.deepEqual(r.handshakes, []);
  assert.deepEqual(r.sent, []);
  assert.equal(r.counters.get('drops', 'relay-request-target-outside-network'), 5000);
});

test('a relay refuses to relay a peer to itself or to a peer it reaches only through a relay', () => {
  const r = relayEnv(R, { amRelay: true, tunnels: [A, B] });
  r.tunnel(B).remote = null;
  r.manager.onControl(r.tunnel(A), relayRequest(1, A, A));
  r.manager.onControl(r.tunnel(A), relayRequest(2, A, B));
  assert.equal(r.counters.get('drops', 'relay-request-to-requester'), 1);
  assert.equal(r.counters.get('drops', 'relay-request-target-not-direct'), 1);
  assert.deepEqual(r.sent, []);
  assert.deepEqual(r.handshakes, []);
  assert.equal(r.manager.table.size, 0);
});

test('one requester makes a relay start at most its quota of handshakes, and gets more as they end', () => {
  const C = parseIpv4('10.99.0.11');
  const r = relayEnv(R, { amRelay: true, tunnels: [A, C] });
  for (let i = 0; i < 5000; i++) r.manager.onControl(r.tunnel(A), relayRequest(i + 1, A, inNet(i)));
  assert.equal(r.handshakes.length, MAX_RELAY_HANDSHAKES_PER_REQUESTER);
  assert.equal(r.counters.get('drops', 'relay-request-handshake-quota'), 5000 - MAX_RELAY_HANDSHAKES_PER_REQUESTER);

  // Asking again for a target already being handshaken costs nothing.
  r.manager.onControl(r.tunnel(A), relayRequest(1, A, inNet(0)));
  assert.equal(r.counters.get('relay', 'request-target-not-ready'), MAX_RELAY_HANDSHAKES_PER_REQUESTER + 1);
  // Another requester is not starved by the first.
  r.manager.onControl(r.tunnel(C), relayRequest(1, C, parseIpv4('10.99.2.1')));
  assert.equal(r.handshakes.length, MAX_RELAY_HANDSHAKES_PER_REQUESTER + 1);

  // Two of A's handshakes end (one completed, one given up): two more may start, no more.
  r.pending.delete(inNet(0));
  r.pending.delete(inNet(1));
  for (let i = 100; i < 110; i++) r.manager.onControl(r.tunnel(A), relayRequest(i + 1, A, inNet(i)));
  assert.deepEqual(r.handshakes.slice(-2), [inNet(100), inNet(101)]);
  assert.equal(r.handshakes.length, MAX_RELAY_HANDSHAKES_PER_REQUESTER + 3);
  assert.equal(r.manager.handshakeQuota.heldBy(A), MAX_RELAY_HANDSHAKES_PER_REQUESTER);
});

test('all requesters together make a relay start at most the global cap of handshakes', () => {
  const requesters = Array.from({ length: 40 }, (_, i) => parseIpv4(`10.99.3.${i + 1}`));
  const r = relayEnv(R, { amRelay: true, tunnels: requesters });
  requesters.forEach((q, k) => {
    for (let i = 0; i < 50; i++) r.manager.onControl(r.tunnel(q), relayRequest(i + 1, q, inNet(k * 50 + i)));
  });
  assert.equal(r.handshakes.length, MAX_RELAY_HANDSHAKES);
  assert.ok(r.counters.get('drops', 'relay-request-handshakes-full') > 0);
});

test('forwarding pairs on a requester hop stay within the bound and are evicted as pairs', () => {
  const targets = Array.from({ length: MAX_RELAYS_PER_HOP + 44 }, (_, i) => inNet(i));
  const r = relayEnv(R, { amRelay: true, tunnels: [A, ...targets] });
  for (const [i, t] of targets.entries()) r.manager.onControl(r.tunnel(A), relayRequest(i + 1, A, t));
  const table = r.manager.table;
  assert.equal(table.countOnHop(A), MAX_RELAYS_PER_HOP);
  assert.equal(table.size, 2 * MAX_RELAYS_PER_HOP, 'each kept entry on the requester hop has its partner, no orphans');
  for (const e of table.byIndex.values()) assert.ok(table.get(e.peerIp, e.hopIp), 'partner present');
  assert.equal(table.get(targets[0], A), undefined, "the oldest pair's far half went with it");
  assert.ok(r.sent.every((s) => s.m.type === ControlType.CreateRelayRequest));
  assert.equal(r.sent.length, targets.length, 'one forwarded request per request');
});
