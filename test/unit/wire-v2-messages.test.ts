import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatIpAddr, parseIpAddr } from '../../pkg/ip/prefix.js';
import { decodeMeta, encodeMeta, fitsLayout, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { decodeNebulaAddr, encodeNebulaAddr } from '../../pkg/protobuf/nebula-addr.js';
import { ProtobufError } from '../../pkg/protobuf/protobuf.js';
import { ControlType, decodeControl, encodeControl, type ControlMessage } from '../../pkg/relay/control.js';
import { udpAddr } from '../../pkg/udp/addr.js';

// The v2 layout of lighthouse and relay messages (Nebula 1.10+, docs/wire-format.md). The golden bytes were written
// by hand from Nebula's nebula.proto (field numbers: NebulaMetaDetails 6 VpnAddr, 7 RelayVpnAddrs; NebulaControl
// 6 RelayToAddr, 7 RelayFromAddr; Addr {1 Hi, 2 Lo}), IPv4 written IPv4-mapped, fields in number order.

const ip = parseIpv4;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'));

// NebulaMeta{1: HostQuery, 2: {6: Addr{2: Lo = 0x0000ffff_0a630005}}}: 10.99.0.5 mapped, Hi = 0 left out.
const V2_QUERY = '08 01 12 0a 32 08 10 85 80 8c d3 f0 ff 3f';
// The same query for fd00::5: Hi = 0xfd00000000000000, Lo = 5.
const V2_QUERY_V6 = '08 01 12 0f 32 0d 08 80 80 80 80 80 80 80 80 fd 01 10 05';
// An update as Nebula 1.10+ sends it on a v2 tunnel: V4AddrPorts, V6AddrPorts, RelayVpnAddrs [10.99.0.1], no VpnAddr.
const V2_UPDATE =
  '08 03 12 26 12 09 08 94 c8 cd b1 0c 10 92 21 22 0f 08 80 80 84 80 80 b7 c3 80 20 10 20 18 a0 1f 3a 08 10 81 80 8c d3 f0 ff 3f';
// A reply about 10.99.0.5: V4AddrPorts, VpnAddr, RelayVpnAddrs.
const V2_REPLY =
  '08 02 12 1f 12 09 08 94 c8 cd b1 0c 10 92 21 32 08 10 85 80 8c d3 f0 ff 3f 3a 08 10 81 80 8c d3 f0 ff 3f';
// Nebula 1.7+'s Ack: v1 names the host (field 1), v2 is blank.
const V1_ACK = '08 0a 12 05 08 85 80 8c 53';
const V2_ACK = '08 0a 12 00';
// NebulaControl{1: request, 2: 111, 6: RelayToAddr 10.99.0.20, 7: RelayFromAddr 10.99.0.10} and its response (3: 222).
const V2_RELAY_REQUEST = '08 01 10 6f 32 08 10 94 80 8c d3 f0 ff 3f 3a 08 10 8a 80 8c d3 f0 ff 3f';
// The request for an IPv6 target: 6: RelayToAddr fd00::20 (Hi = 0xfd00000000000000, Lo = 0x20), 7: 10.99.0.10 mapped.
const V2_RELAY_REQUEST_V6 = '08 01 10 6f 32 0d 08 80 80 80 80 80 80 80 80 fd 01 10 20 3a 08 10 8a 80 8c d3 f0 ff 3f';
const V2_RELAY_RESPONSE = '08 02 10 6f 18 de 01 32 08 10 94 80 8c d3 f0 ff 3f 3a 08 10 8a 80 8c d3 f0 ff 3f';

test('v2 lighthouse messages decode to what the proto says and encode to the same bytes', () => {
  const query = decodeMeta(bytes(V2_QUERY));
  assert.equal(query.version, 2);
  assert.equal(query.vpnIp, ip('10.99.0.5'), 'an IPv4-mapped VpnAddr is the IPv4 host');
  assert.equal(
    hex(encodeMeta({ type: MetaType.HostQuery, vpnIp: ip('10.99.0.5'), addrs: [], relays: [], version: 2 })),
    V2_QUERY.replace(/ /g, ''),
  );

  const update = decodeMeta(bytes(V2_UPDATE));
  assert.deepEqual(update, {
    type: MetaType.HostUpdateNotification,
    vpnIp: 0,
    addrs: [udpAddr('198.51.100.20', 4242), udpAddr('2001:db8:1::20', 4000)],
    relays: [ip('10.99.0.1')],
    version: 2,
  });
  assert.equal(hex(encodeMeta(update)), V2_UPDATE.replace(/ /g, ''));

  const reply: MetaMessage = {
    type: MetaType.HostQueryReply,
    vpnIp: ip('10.99.0.5'),
    addrs: [udpAddr('198.51.100.20', 4242)],
    relays: [ip('10.99.0.1')],
    version: 2,
  };
  assert.equal(hex(encodeMeta(reply)), V2_REPLY.replace(/ /g, ''));
  assert.deepEqual(decodeMeta(bytes(V2_REPLY)), reply);
});

test('the same message in v1 keeps the v1 bytes; the version follows the message, else the argument', () => {
  const m: MetaMessage = { type: MetaType.HostQuery, vpnIp: ip('10.99.0.5'), addrs: [], relays: [] };
  assert.equal(hex(encodeMeta(m)), '0801120508' + '85808c53');
  assert.equal(hex(encodeMeta(m, 2)), V2_QUERY.replace(/ /g, ''));
  assert.equal(hex(encodeMeta({ ...m, version: 2 }, 1)), V2_QUERY.replace(/ /g, ''));
  assert.equal(decodeMeta(encodeMeta(m)).version, undefined, 'a v1 message carries no version');
});

test('an IPv6 VpnAddr and IPv6 relays are IPv6 VpnIps (canonical text), in the order they came', () => {
  const q = decodeMeta(bytes(V2_QUERY_V6));
  assert.equal(q.vpnIp, 'fd00::5');
  assert.equal(hex(encodeMeta(q)), V2_QUERY_V6.replace(/ /g, ''));
  const m: MetaMessage = {
    type: MetaType.HostQueryReply,
    vpnIp: ip('10.99.0.5'),
    addrs: [],
    relays: [ip('10.99.0.1'), 'fd00::1'],
    version: 2,
  };
  const back = decodeMeta(encodeMeta(m));
  assert.deepEqual(back.relays, [ip('10.99.0.1'), 'fd00::1']);
  // A v1 message cannot carry them: the v1 encoding leaves them out.
  assert.deepEqual(decodeMeta(encodeMeta({ ...m, version: undefined })).relays, [ip('10.99.0.1')]);
});

test('a v1 message cannot name an IPv6 host: encoding one throws MetaV1Ipv6Error (senders skip it first)', () => {
  const m: MetaMessage = { type: MetaType.HostQuery, vpnIp: 'fd00::5', addrs: [], relays: [] };
  assert.throws(() => encodeMeta(m), { code: 'EMETAV1IPV6' });
  assert.equal(fitsLayout('fd00::5', 1), false);
  assert.equal(fitsLayout('fd00::5', 2), true);
  assert.equal(fitsLayout(ip('10.99.0.5'), 1), true);
});

test('a non-zero field 1 makes a message v1 even with v2 fields, as Nebula decides', () => {
  // Details: 1: 10.99.0.5, 6: Addr fd00::5.
  const m = decodeMeta(bytes('08 01 12 14 08 85 80 8c 53 32 0d 08 80 80 80 80 80 80 80 80 fd 01 10 05'));
  assert.equal(m.version, undefined);
  assert.equal(m.vpnIp, ip('10.99.0.5'));
});

test('the Ack decodes in both layouts', () => {
  assert.deepEqual(decodeMeta(bytes(V1_ACK)), {
    type: MetaType.HostUpdateNotificationAck,
    vpnIp: ip('10.99.0.5'),
    addrs: [],
    relays: [],
  });
  assert.deepEqual(decodeMeta(bytes(V2_ACK)), {
    type: MetaType.HostUpdateNotificationAck,
    vpnIp: 0,
    addrs: [],
    relays: [],
  });
  assert.equal(
    hex(encodeMeta({ type: MetaType.HostUpdateNotificationAck, vpnIp: 0, addrs: [], relays: [], version: 2 })),
    V2_ACK.replace(/ /g, ''),
  );
  assert.equal(
    hex(encodeMeta({ type: MetaType.HostUpdateNotificationAck, vpnIp: ip('10.99.0.5'), addrs: [], relays: [] })),
    V1_ACK.replace(/ /g, ''),
  );
});

test('v2 relay control messages: golden bytes both ways', () => {
  const req: ControlMessage = {
    type: ControlType.CreateRelayRequest,
    initiatorRelayIndex: 111,
    responderRelayIndex: 0,
    relayToIp: ip('10.99.0.20'),
    relayFromIp: ip('10.99.0.10'),
    version: 2,
  };
  assert.equal(hex(encodeControl(req)), V2_RELAY_REQUEST.replace(/ /g, ''));
  assert.deepEqual(decodeControl(bytes(V2_RELAY_REQUEST)), req);
  const resp = decodeControl(bytes(V2_RELAY_RESPONSE));
  assert.equal(resp.type, ControlType.CreateRelayResponse);
  assert.equal(resp.responderRelayIndex, 222);
  assert.equal(resp.version, 2);
  assert.equal(hex(encodeControl(resp)), V2_RELAY_RESPONSE.replace(/ /g, ''));
  // The v1 layout of the same request: fields 4 and 5 as uint32, no version.
  const v1 = decodeControl(encodeControl({ ...req, version: undefined }));
  assert.equal(v1.version, undefined);
  assert.equal(v1.relayToIp, ip('10.99.0.20'));
  assert.equal(hex(encodeControl({ ...req, version: undefined })), '0801106f2094808c53288a808c53');
});

test('v2 relay control with an IPv6 end: golden bytes both ways; the v1 layout cannot carry it and throws', () => {
  const req: ControlMessage = {
    type: ControlType.CreateRelayRequest,
    initiatorRelayIndex: 111,
    responderRelayIndex: 0,
    relayToIp: 'fd00::20',
    relayFromIp: ip('10.99.0.10'),
    version: 2,
  };
  assert.equal(hex(encodeControl(req)), V2_RELAY_REQUEST_V6.replace(/ /g, ''));
  assert.deepEqual(decodeControl(bytes(V2_RELAY_REQUEST_V6)), req);
  assert.throws(() => encodeControl({ ...req, version: undefined }), { code: 'ECONTROLV1IPV6' });
});

test('a v2 reply about an IPv6 host carries its V6AddrPorts, VpnAddr and IPv6 relay, and decodes to the same record', () => {
  const reply: MetaMessage = {
    type: MetaType.HostQueryReply,
    vpnIp: 'fd00::5',
    addrs: [udpAddr('198.51.100.20', 4242), udpAddr('2001:db8:1::20', 4000)],
    relays: [ip('10.99.0.1'), 'fd00::1'],
    version: 2,
  };
  const b = encodeMeta(reply);
  // Details hold, in order: 2 (V4AddrPort), 3 (0, omitted), 4 (V6AddrPort), 6 (VpnAddr fd00::5), 7, 7.
  assert.ok(hex(b).includes('320d088080808080808080fd011005'), 'VpnAddr fd00::5 as Addr{Hi, Lo}');
  assert.ok(hex(b).includes('3a0d088080808080808080fd011001'), 'relay fd00::1 as Addr{Hi, Lo}');
  assert.deepEqual(decodeMeta(b), reply);
});

test('Addr: IPv4 is written mapped and read back as IPv4; mapped-looking IPv6 stays IPv6; junk throws ProtobufError', () => {
  for (const text of [
    '10.99.0.5',
    '0.0.0.0',
    '255.255.255.255',
    'fd00::5',
    '::',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    '::ffff:0:a63:5',
    '8000::1',
  ]) {
    assert.equal(
      formatIpAddr(decodeNebulaAddr(encodeNebulaAddr(parseIpAddr(text)))),
      formatIpAddr(parseIpAddr(text)),
      text,
    );
  }
  assert.equal(decodeNebulaAddr(encodeNebulaAddr(parseIpAddr('::ffff:10.99.0.5'))).family, 4);
  assert.throws(() => decodeNebulaAddr(bytes('0a 00')), ProtobufError, 'Hi as bytes');
  assert.throws(() => decodeMeta(bytes('08 01 12 02 30 01')), ProtobufError, 'VpnAddr as a varint');
  assert.throws(() => decodeControl(bytes('08 01 30 01')), ProtobufError, 'RelayToAddr as a varint');
});
