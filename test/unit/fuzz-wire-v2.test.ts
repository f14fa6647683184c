// Fuzzing the v2 layout of lighthouse and relay control messages (Addr fields, docs/wire-format.md), which any peer
// with a tunnel can send: each decoder fails only with ProtobufError, overlay addresses come out as VpnIps (IPv4
// uint32s or canonical IPv6 text, never a mapped IPv4 one), and what decodes re-encodes to the same record.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ipv4FromUint32, ipv6Addr, type IpAddr } from '../../pkg/ip/prefix.js';
import { formatVpnIp, parseVpnIp, vpnIpFromIpAddr, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { decodeNebulaAddr, encodeNebulaAddr } from '../../pkg/protobuf/nebula-addr.js';
import { ProtobufError } from '../../pkg/protobuf/protobuf.js';
import { ControlType, decodeControl, encodeControl, type ControlMessage } from '../../pkg/relay/control.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { expectOnly, hex, INTERESTING_INTS, mutate, mutateProto, randomBytes, Rand, runFuzz } from './helpers/fuzz.js';

const isProtobufError = (e: unknown): boolean => e instanceof ProtobufError;

function u32(r: Rand): number {
  return r.chance(0.3) ? Number(r.pick(INTERESTING_INTS) & 0xffffffffn) : r.int(2 ** 32);
}

function someAddr(r: Rand): IpAddr {
  if (r.chance(0.6)) return ipv4FromUint32(u32(r));
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = r.chance(0.5) ? 0 : r.byte();
  if (r.chance(0.2)) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 0); // mapped: must come back as IPv4
  return ipv6Addr(b);
}

function someMeta(r: Rand): MetaMessage {
  const addrs = [];
  for (let n = r.int(3); n > 0; n--)
    addrs.push(udpAddr(`${r.int(224)}.${r.byte()}.${r.byte()}.${r.byte()}`, r.int(65536)));
  for (let n = r.int(2); n > 0; n--) addrs.push(udpAddr(r.pick(['2001:db8::1', '::', 'fd00::ffff:1']), r.int(65536)));
  const relays = Array.from({ length: r.int(3) }, () => vpnIpFromIpAddr(someAddr(r)));
  return {
    type: r.int(11) as MetaType,
    vpnIp: r.chance(0.2) ? 0 : vpnIpFromIpAddr(someAddr(r)),
    addrs,
    relays,
    version: 2,
  };
}

function someControl(r: Rand): ControlMessage {
  return {
    type: r.int(3) as ControlType,
    initiatorRelayIndex: u32(r),
    responderRelayIndex: u32(r),
    relayToIp: vpnIpFromIpAddr(someAddr(r)),
    relayFromIp: vpnIpFromIpAddr(someAddr(r)),
    version: 2,
  };
}

function checkAddr(a: IpAddr | undefined, b: Uint8Array): void {
  if (!a) return;
  assert.equal(a.bytes.length, a.family === 4 ? 4 : 16, `address from ${hex(b)}`);
  if (a.family === 6)
    assert.ok(
      !a.bytes.subarray(0, 12).every((x, i) => x === (i < 10 ? 0 : 0xff)),
      `mapped address left IPv6 from ${hex(b)}`,
    );
}

/** A uint32, or canonical IPv6 text that is not a mapped IPv4 address (that one must come out as the uint32). */
function checkVpnIp(v: VpnIp, what: string, b: Uint8Array): void {
  if (typeof v === 'number') assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32, `${what} ${v} from ${hex(b)}`);
  else assert.equal(formatVpnIp(parseVpnIp(v)), v, `${what} ${v} not canonical IPv6 from ${hex(b)}`);
}

test('fuzz v2 lighthouse messages: decode fails only with ProtobufError; decode(encode(m)) == m', () => {
  const samples = Array.from({ length: 8 }, (_, i) => encodeMeta(someMeta(new Rand(200 + i))));
  const stats = runFuzz(
    'lighthouse-meta-v2',
    { iterations: 20_000, minIterations: 1001, ms: 900, seed: 0x2ed },
    (r) => {
      const b = r.chance(0.2) ? randomBytes(r, 64) : mutateProto(r, r.pick(samples), samples);
      const m = expectOnly(() => decodeMeta(b), isProtobufError, b);
      if (!m.ok) return;
      checkVpnIp(m.value.vpnIp, 'vpnIp', b);
      for (const v of m.value.relays) checkVpnIp(v, 'relay', b);
      if (m.value.version !== 2)
        assert.ok(
          [m.value.vpnIp, ...m.value.relays].every((v) => typeof v === 'number'),
          `IPv6 in a v1 message from ${hex(b)}`,
        );
      assert.deepEqual(decodeMeta(encodeMeta(m.value)), m.value, `message ${hex(b)}`);
    },
  );
  assert.ok(stats.iterations > 1000, `only ${stats.iterations} iterations`);
});

test('fuzz v2 relay control: decode fails only with ProtobufError, yields 32-bit fields, and decode(encode(m)) == m', () => {
  const samples = Array.from({ length: 6 }, (_, i) => encodeControl(someControl(new Rand(300 + i))));
  const stats = runFuzz('relay-control-v2', { iterations: 20_000, minIterations: 1001, ms: 700, seed: 0x2c7 }, (r) => {
    const b = r.chance(0.2)
      ? randomBytes(r, 64)
      : r.chance(0.5)
        ? mutateProto(r, r.pick(samples), samples)
        : mutate(r, r.pick(samples), samples);
    const m = expectOnly(() => decodeControl(b), isProtobufError, b);
    if (!m.ok) return;
    for (const k of ['initiatorRelayIndex', 'responderRelayIndex'] as const) {
      assert.ok(
        Number.isInteger(m.value[k]) && m.value[k] >= 0 && m.value[k] < 2 ** 32,
        `${k} ${m.value[k]} from ${hex(b)}`,
      );
    }
    checkVpnIp(m.value.relayToIp, 'relayToIp', b);
    checkVpnIp(m.value.relayFromIp, 'relayFromIp', b);
    if (m.value.version !== 2)
      assert.ok(
        typeof m.value.relayToIp === 'number' && typeof m.value.relayFromIp === 'number',
        `IPv6 in a v1 message from ${hex(b)}`,
      );
    if (Number.isSafeInteger(m.value.type))
      assert.deepEqual(decodeControl(encodeControl(m.value)), m.value, `message ${hex(b)}`);
  });
  assert.ok(stats.iterations > 1000, `only ${stats.iterations} iterations`);
});

test('fuzz Addr: any bytes decode to a 4- or 16-byte address or throw ProtobufError; canonical bytes round trip', () => {
  runFuzz('nebula-addr', { iterations: 20_000, ms: 400, seed: 0xadd }, (r) => {
    const sample = encodeNebulaAddr(someAddr(r));
    const b = r.chance(0.3) ? randomBytes(r, 24) : mutate(r, sample, [sample]);
    const a = expectOnly(() => decodeNebulaAddr(b), isProtobufError, b);
    if (!a.ok) return;
    checkAddr(a.value, b);
    assert.deepEqual(decodeNebulaAddr(encodeNebulaAddr(a.value)), a.value, `Addr ${hex(b)}`);
  });
});
