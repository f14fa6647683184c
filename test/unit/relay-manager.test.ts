import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { ControlType } from '../../pkg/relay/control.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { relayEnv as setup, relayRequest as request, relayResponse as response } from './helpers/relay-env.js';

// The relay protocol's control messages (docs/state-machines.md, "Relay entries"), driven through a fake env: who may
// ask for a relay, what the relay forwards, and what each side records. No sockets, no timers, no crypto.

const A = parseIpv4('10.99.0.10');
const R = parseIpv4('10.99.0.1');
const B = parseIpv4('10.99.0.20');

test('a node that is not a relay refuses to relay for others', () => {
  const r = setup(R, { amRelay: false, tunnels: [A, B] });
  r.manager.onControl(r.tunnel(A), request(111, A, B));
  assert.equal(r.counters.get('drops', 'relay-request-not-a-relay'), 1);
  assert.deepEqual(r.sent, []);
  assert.equal(r.manager.table.size, 0);
});

test('a relay refuses a request whose RelayFromIp is not the peer of the tunnel it came on', () => {
  const r = setup(R, { amRelay: true, tunnels: [A, B] });
  r.manager.onControl(r.tunnel(A), request(111, parseIpv4('10.99.0.99'), B));
  assert.equal(r.counters.get('drops', 'relay-request-spoofed'), 1);
  assert.deepEqual(r.sent, []);
});

test('a relay with no tunnel to the target starts one and answers nothing yet', () => {
  const r = setup(R, { amRelay: true, tunnels: [A] });
  r.manager.onControl(r.tunnel(A), request(111, A, B));
  assert.deepEqual(r.handshakes, [B]);
  assert.deepEqual(r.sent, []);
  assert.equal(r.counters.get('relay', 'request-target-not-ready'), 1);
});

test('a relay forwards the request to the target and the target response back to the requester with its own indexes', () => {
  const r = setup(R, { amRelay: true, tunnels: [A, B] });
  r.manager.onControl(r.tunnel(A), request(111, A, B));
  assert.equal(r.sent.length, 1);
  const forwarded = r.sent[0];
  assert.equal(forwarded.to, B);
  assert.equal(forwarded.m.type, ControlType.CreateRelayRequest);
  assert.equal(forwarded.m.relayFromIp, A);
  assert.equal(forwarded.m.relayToIp, B);
  const rb = forwarded.m.initiatorRelayIndex;
  assert.notEqual(rb, 111);

  r.manager.onControl(r.tunnel(B), response(222, rb, A, B));
  assert.equal(r.sent.length, 2);
  const back = r.sent[1];
  assert.equal(back.to, A);
  assert.equal(back.m.type, ControlType.CreateRelayResponse);
  assert.equal(back.m.initiatorRelayIndex, 111, "the requester's own index");
  const ra = back.m.responderRelayIndex;
  assert.ok(ra !== 0 && ra !== rb);
  assert.deepEqual(
    { ...r.manager.table.byIndex.get(ra) },
    { remoteIndex: 111, state: 'established', terminal: false, hopIp: A, peerIp: B, localIndex: ra },
  );
  assert.deepEqual(
    { ...r.manager.table.byIndex.get(rb) },
    { remoteIndex: 222, state: 'established', terminal: false, hopIp: B, peerIp: A, localIndex: rb },
  );

  // A repeated request (the requester retries each handshake tick) is answered from the established pair.
  r.manager.onControl(r.tunnel(A), request(111, A, B));
  assert.equal(r.sent.length, 3);
  assert.deepEqual(r.sent[2], { to: A, m: response(ra, 111, A, B) });
});

test('the target accepts a request naming it, answers with its relay index, and keeps that index for a repeat', () => {
  const b = setup(B, { tunnels: [R], relaysForUs: [R] });
  b.manager.onControl(b.tunnel(R), request(333, A, B));
  assert.equal(b.sent.length, 1);
  const first = b.sent[0].m;
  assert.equal(first.type, ControlType.CreateRelayResponse);
  assert.equal(first.initiatorRelayIndex, 333);
  const entry = b.manager.table.byIndex.get(first.responderRelayIndex)!;
  assert.deepEqual(
    {
      state: entry.state,
      terminal: entry.terminal,
      hopIp: entry.hopIp,
      peerIp: entry.peerIp,
      remoteIndex: entry.remoteIndex,
    },
    {
      state: 'established',
      terminal: true,
      hopIp: R,
      peerIp: A,
      remoteIndex: 333,
    },
  );

  b.manager.onControl(b.tunnel(R), request(333, A, B));
  assert.equal(b.sent[1].m.responderRelayIndex, first.responderRelayIndex);
  b.manager.onControl(b.tunnel(R), request(444, A, B));
  assert.notEqual(
    b.sent[2].m.responderRelayIndex,
    first.responderRelayIndex,
    'a new initiator index replaces the entry',
  );
  assert.equal(b.manager.table.size, 1);
});

test('the requester marks its relay established on the response and retries its handshake at once', () => {
  const a = setup(A, { tunnels: [R] });
  a.manager.sendViaRelays(B, new Uint8Array(40), [R]);
  assert.equal(a.sent.length, 1);
  const req = a.sent[0].m;
  assert.deepEqual({ ...req, initiatorRelayIndex: 0 }, request(0, A, B));
  assert.equal(a.counters.get('relay', 'request-sent'), 1);

  a.manager.onControl(a.tunnel(R), response(555, req.initiatorRelayIndex, A, B));
  assert.deepEqual(a.ready, [B]);
  const entry = a.manager.table.terminalFor(B)!;
  assert.equal(entry.remoteIndex, 555);
  assert.equal(entry.hopIp, R);
});

test('a response for an unknown relay index, or from another hop than the one asked, is dropped', () => {
  const a = setup(A, { tunnels: [R, B] });
  a.manager.sendViaRelays(B, new Uint8Array(40), [R]);
  const index = a.sent[0].m.initiatorRelayIndex;
  a.manager.onControl(a.tunnel(R), response(1, 424242, A, B));
  a.manager.onControl(a.tunnel(B), response(1, index, A, B));
  assert.equal(a.counters.get('drops', 'relay-response-unknown'), 2);
  assert.deepEqual(a.ready, []);
  assert.equal(a.manager.table.terminalFor(B), undefined);
});

test('a relayed packet for an unknown relay index is dropped', () => {
  const r = setup(R, { amRelay: true, tunnels: [A, B] });
  r.manager.onRelayedPacket(new Uint8Array(64), 98765, 3, udpAddr('198.51.100.10', 4242));
  assert.equal(r.counters.get('drops', 'relay-unknown-index'), 1);
});
