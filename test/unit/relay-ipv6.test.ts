import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import { ControlType, decodeControl, encodeControl, type ControlMessage } from '../../pkg/relay/control.js';
import { relayEnv as setup, relayResponse as response } from './helpers/relay-env.js';

// Relays between hosts with several overlay addresses (docs/ipv6.md), as Nebula 1.10's relay_manager.go: the ends
// are named by Addr in the v2 layout (IPv6 or mapped IPv4), a v1 message cannot name IPv6 (not sent, counted), and a
// relay or peer may be named by any of its addresses: entries are keyed by the tunnels' primary addresses.

const ip = parseIpv4;
const NETWORKS = ['10.99.0.0/24', 'fd00::/64'];
const A: VpnIp[] = [ip('10.99.0.10'), 'fd00::10'];
const R: VpnIp[] = [ip('10.99.0.1'), 'fd00::1'];
const B: VpnIp[] = [ip('10.99.0.20'), 'fd00::20'];

/** Through the codec, as on the wire. */
const wire = (m: ControlMessage): ControlMessage => decodeControl(encodeControl(m));

function v2Request(initiatorRelayIndex: number, from: VpnIp, to: VpnIp): ControlMessage {
  return wire({
    type: ControlType.CreateRelayRequest,
    initiatorRelayIndex,
    responderRelayIndex: 0,
    relayFromIp: from,
    relayToIp: to,
    version: 2,
  });
}

test("a relay forwards a v2 request naming the target by its IPv6 address; both legs are keyed by the tunnels' primary addresses", () => {
  const r = setup(R[0], { amRelay: true, myAddrs: R, vpnNetworks: NETWORKS });
  const a = r.addTunnel(A[0], A, 2);
  const b = r.addTunnel(B[0], B, 2);
  r.manager.onControl(a, v2Request(111, 'fd00::10', 'fd00::20'));
  assert.equal(r.sent.length, 1);
  const forwarded = r.sent[0];
  assert.equal(forwarded.to, B[0]);
  assert.deepEqual(wire(forwarded.m), { ...forwarded.m, version: 2 });
  assert.equal(forwarded.m.relayToIp, 'fd00::20');
  assert.equal(forwarded.m.relayFromIp, 'fd00::10');
  const rb = forwarded.m.initiatorRelayIndex;
  assert.ok(r.manager.table.get(A[0], B[0]), 'requester leg under the primaries');
  assert.equal(
    r.manager.table.get(B[0], A[0])?.localIndex,
    rb,
    'target leg under the primaries: forwarding finds its partner',
  );

  r.manager.onControl(b, wire({ ...response(222, rb, 'fd00::10', 'fd00::20'), version: 2 }));
  const back = r.sent[1];
  assert.equal(back.to, A[0]);
  assert.equal(back.m.type, ControlType.CreateRelayResponse);
  assert.equal(back.m.initiatorRelayIndex, 111);
  assert.equal(back.m.relayToIp, 'fd00::20');
  assert.equal(back.m.version, 2);
});

test('a request through a v1 hop for an IPv6 target is not sent and is counted, as Nebula 1.10 refuses it', () => {
  const r = setup(A[0], { myAddrs: A, vpnNetworks: NETWORKS });
  r.addTunnel(R[0], [R[0]], 1);
  r.manager.sendViaRelays('fd00::20', new Uint8Array(16), [R[0]]);
  assert.deepEqual(r.sent, []);
  assert.equal(r.counters.get('relay', 'v1-ipv6-skipped'), 1);
  // The same through a v2 hop names us by our primary address and the target by its IPv6 one.
  const r2 = setup(A[0], { myAddrs: A, vpnNetworks: NETWORKS });
  r2.addTunnel(R[0], R, 2);
  r2.manager.sendViaRelays('fd00::20', new Uint8Array(16), [R[0]]);
  assert.deepEqual(
    r2.sent.map((s) => [s.to, s.m.relayFromIp, s.m.relayToIp, s.m.version]),
    [[R[0], A[0], 'fd00::20', 2]],
  );
});

test('a dual-stack relay is one hop by either of its addresses', () => {
  const r = setup(A[0], { myAddrs: A, vpnNetworks: NETWORKS });
  r.addTunnel(R[0], R, 2);
  assert.equal(r.manager.prepare('fd00::20', ['fd00::1']), 'requested');
  assert.equal(r.sent[0]?.to, R[0]);
  const entry = r.manager.table.get(R[0], 'fd00::20');
  assert.equal(entry?.terminal, true, "keyed by the hop's primary address");
  r.manager.sendViaRelays('fd00::20', new Uint8Array(16), [R[0]]);
  assert.equal(r.manager.table.size, 1, 'the same entry by the other address');

  // Established, it is found for the peer's tunnel whatever address the peer's primary is.
  r.manager.onControl(r.tunnel(R[0]), wire({ ...response(333, entry!.localIndex, A[0], 'fd00::20'), version: 2 }));
  const b = r.addTunnel(B[0], B, 2);
  assert.equal(r.manager.terminalForHost(b), entry);
});

test('as the target, a relay we advertise by its IPv6 address is accepted when it comes on a tunnel whose primary is IPv4', () => {
  const r = setup(B[0], { myAddrs: B, vpnNetworks: NETWORKS, relaysForUs: ['fd00::1'] });
  const hop = r.addTunnel(R[0], R, 2);
  r.manager.onControl(hop, v2Request(444, 'fd00::10', 'fd00::20'));
  assert.equal(r.counters.get('drops', 'relay-request-hop-not-our-relay'), 0);
  assert.deepEqual(
    r.sent.map((s) => [s.to, ControlType[s.m.type], s.m.initiatorRelayIndex, s.m.relayToIp]),
    [[R[0], 'CreateRelayResponse', 444, 'fd00::20']],
  );
  assert.equal(r.manager.table.get(R[0], 'fd00::10')?.terminal, true);
});

test('the far end must be inside one of our networks: an IPv6 address outside them is refused', () => {
  const r = setup(B[0], { myAddrs: B, vpnNetworks: NETWORKS, relaysForUs: [R[0]] });
  const hop = r.addTunnel(R[0], R, 2);
  r.manager.onControl(hop, v2Request(555, 'fd99::10', 'fd00::20'));
  assert.equal(r.counters.get('drops', 'relay-request-bad-far-end'), 1);
  assert.deepEqual(r.sent, []);
});
