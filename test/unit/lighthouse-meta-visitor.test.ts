import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatIpv4 } from '../../pkg/ip/ipv4.js';
import { bigIntToIpv6 } from '../../pkg/ip/ipv6.js';
import { vpnIpFromIpAddr, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { decodeNebulaAddr } from '../../pkg/protobuf/nebula-addr.js';
import {
  fieldBytes,
  fieldEnum,
  fieldRepeatedUint32,
  fieldUint32,
  fieldUint64,
  ProtobufError,
  readFields,
} from '../../pkg/protobuf/protobuf.js';
import { isIpv6Addr, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { expectOnly, hex, mutateProto, randomBytes, Rand, runFuzz } from './helpers/fuzz.js';

// decodeMeta visits each message's fields in one pass (protobuf/reader.ts `next`) rather than listing them with
// readFields: a lighthouse decodes every host update. It must accept, refuse and read exactly what the field-list
// decoding did, which is kept here, as it was, as the oracle.

function byFieldList(buf: Uint8Array): MetaMessage {
  let type = MetaType.None;
  let detailsBytes: Uint8Array | undefined;
  for (const f of readFields(buf)) {
    if (f.number === 1) type = fieldEnum(f) as MetaType;
    else if (f.number === 2) detailsBytes = fieldBytes(f);
  }
  if (!detailsBytes) throw new ProtobufError('lighthouse message without details');
  const m: MetaMessage = { type, vpnIp: 0, addrs: [], relays: [] };
  const v6: UdpAddr[] = [];
  let vpnAddr: VpnIp | undefined;
  const relayAddrs: VpnIp[] = [];
  for (const f of readFields(detailsBytes)) {
    if (f.number === 1) m.vpnIp = fieldUint32(f);
    else if (f.number === 2) m.addrs.push(ip4AndPort(fieldBytes(f)));
    else if (f.number === 3 && (type === MetaType.HostQueryReply || type === MetaType.HostMovedNotification))
      m.seen = fieldUint32(f) & 3;
    else if (f.number === 3 && type === MetaType.HostWhoamiReply) m.probePort = fieldUint32(f) & 0xffff;
    else if (f.number === 3) fieldUint32(f);
    else if (f.number === 4) v6.push(ip6AndPort(fieldBytes(f)));
    else if (f.number === 5) m.relays.push(...fieldRepeatedUint32(f));
    else if (f.number === 6) vpnAddr = vpnIpFromIpAddr(decodeNebulaAddr(fieldBytes(f)));
    else if (f.number === 7) relayAddrs.push(vpnIpFromIpAddr(decodeNebulaAddr(fieldBytes(f))));
  }
  m.addrs.push(...v6.filter((a) => !isIpv6Addr(a)), ...v6.filter((a) => isIpv6Addr(a)));
  if (m.vpnIp === 0 && ((vpnAddr !== undefined && vpnAddr !== 0) || relayAddrs.length > 0)) {
    m.version = 2;
    if (vpnAddr !== undefined) m.vpnIp = vpnAddr;
    m.relays.push(...relayAddrs);
  } else m.relays.push(...relayAddrs.filter((r) => typeof r === 'number'));
  return m;
}

function ip4AndPort(buf: Uint8Array): UdpAddr {
  let ip = 0;
  let port = 0;
  for (const f of readFields(buf)) {
    if (f.number === 1) ip = fieldUint32(f);
    else if (f.number === 2) port = fieldUint32(f);
  }
  if (port > 65535) throw new ProtobufError('port out of range');
  return udpAddr(formatIpv4(ip), port);
}

function ip6AndPort(buf: Uint8Array): UdpAddr {
  let hi = 0n;
  let lo = 0n;
  let port = 0;
  for (const f of readFields(buf)) {
    if (f.number === 1) hi = fieldUint64(f);
    else if (f.number === 2) lo = fieldUint64(f);
    else if (f.number === 3) port = fieldUint32(f);
  }
  if (port > 65535) throw new ProtobufError('port out of range');
  return udpAddr(bigIntToIpv6((hi << 64n) | lo), port);
}

const isProtobufError = (e: unknown): boolean => e instanceof ProtobufError;

function someMeta(r: Rand): MetaMessage {
  const addrs: UdpAddr[] = [];
  for (let n = r.int(3); n > 0; n--) addrs.push(udpAddr(`192.0.2.${r.int(256)}`, r.int(65536)));
  for (let n = r.int(3); n > 0; n--) addrs.push(udpAddr(r.pick(['2001:db8::1', '::ffff:1.2.3.4', 'fe80::2']), 4242));
  const v2 = r.chance(0.4);
  const relays: VpnIp[] = Array.from({ length: r.int(3) }, () => (v2 && r.chance(0.5) ? 'fd00::7' : 0x0a630001));
  const type = r.pick([2, 3, 4, 7, 1, 5, 10]) as MetaType;
  return {
    type,
    vpnIp: v2 && r.chance(0.3) ? 'fd00::9' : r.chance(0.1) ? 0 : 0x0a630003,
    addrs,
    relays,
    ...(r.chance(0.5) ? { seen: r.int(4), probePort: r.int(65536) } : {}),
    ...(v2 ? { version: 2 as const } : {}),
  };
}

test('fuzz: the one-pass decodeMeta accepts, refuses and reads what the field-list decoding did', () => {
  const samples = Array.from({ length: 16 }, (_, i) => {
    const m = someMeta(new Rand(i));
    return encodeMeta(m.version === 2 || typeof m.vpnIp === 'number' ? m : { ...m, vpnIp: 1 });
  });
  let accepted = 0;
  let refused = 0;
  runFuzz('lighthouse-meta-visitor', { iterations: 20_000, minIterations: 7000, ms: 1500, seed: 0x19 }, (r) => {
    const b = r.chance(0.1) ? randomBytes(r, 64) : mutateProto(r, r.pick(samples), samples);
    const want = expectOnly(() => byFieldList(b), isProtobufError, b);
    const got = expectOnly(() => decodeMeta(b), isProtobufError, b);
    assert.equal(got.ok, want.ok, `accepted by one only: ${hex(b)}`);
    if (got.ok && want.ok) {
      assert.deepEqual(got.value, want.value, hex(b));
      accepted++;
    } else refused++;
  });
  assert.ok(accepted > 1000 && refused > 1000, `accepted ${accepted}, refused ${refused}: both sides must be seen`);
});

test('every known field of every level, in every wire type: refused or read as the field-list decoding did', () => {
  // The fixed-width values also read as a length and a valid message (or packed varints): a decoder that took them
  // for length-delimited bytes would accept them, not stumble.
  const values: Record<number, number[]> = {
    0: [0x01],
    1: [0x07, 0x08, 0x81, 0x01, 0x10, 0x02, 0x18, 0x01],
    2: [0x00],
    5: [0x03, 0x08, 0x81, 0x01],
  };
  const field = (n: number, wire: number): number[] => [(n << 3) | wire, ...values[wire]];
  const within = (n: number, inner: number[]): number[] => [(n << 3) | 2, inner.length, ...inner];
  const cases: number[][] = [];
  for (const wire of [0, 1, 2, 5]) {
    for (const n of [1, 2, 3]) cases.push([...field(n, wire), 0x12, 0x00]); // NebulaMeta
    for (const type of [2, 3, 7]) {
      for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) cases.push([0x08, type, ...within(2, field(n, wire))]); // Details
    }
    for (const n of [1, 2, 3]) {
      cases.push([0x08, 0x03, ...within(2, within(2, field(n, wire)))]); // Ip4AndPort
      cases.push([0x08, 0x03, ...within(2, within(4, field(n, wire)))]); // Ip6AndPort
    }
  }
  let refused = 0;
  for (const c of cases) {
    const b = Uint8Array.from(c);
    const want = expectOnly(() => byFieldList(b), isProtobufError, b);
    const got = expectOnly(() => decodeMeta(b), isProtobufError, b);
    assert.equal(got.ok, want.ok, `accepted by one only: ${hex(b)}`);
    if (got.ok && want.ok) assert.deepEqual(got.value, want.value, hex(b));
    else refused++;
  }
  assert.ok(refused > 40, `only ${refused} refused`);
});
