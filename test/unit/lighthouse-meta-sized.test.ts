// encodeMeta's path for v1 messages with addresses or relays (lighthouse/meta-v1-sized.ts: every query reply,
// punch notification and host update) writes exactly what the general field-by-field encoder writes, and refuses
// what it refuses with the same error.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMeta, encodeMeta, encodeMetaFields, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import { seededRandom } from './helpers/seeded-random.js';

const random = seededRandom(23);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (n: number): number => Math.floor(random() * n);
const NUMBERS = [0, 1, 127, 128, 16_383, 16_384, 0x0a630001, 0x7fffffff, 0x80000000, 0xffffffff];
const PORTS = [0, 1, 127, 128, 4242, 65535];

/** IPv6 text with every group width and the high bits that make a uint64 half take ten varint bytes. */
function ipv6(): string {
  const group = (): string => pick([0, 1, 0x7f, 0x80, 0x3fff, 0x8000, 0xffff, int(0x10000)]).toString(16);
  const groups = Array.from({ length: 8 }, group);
  switch (int(5)) {
    case 0:
      return '::';
    case 1:
      return `::ffff:${int(256)}.${int(256)}.${int(256)}.${int(256)}`; // IPv4-mapped
    case 2:
      return `${groups.slice(0, 2).join(':')}::${groups.slice(5).join(':')}`;
    default:
      return groups.join(':');
  }
}

function ipv4(): string {
  const n = pick([0, int(2 ** 32), 0xffffffff, 0x0a630001, 127]);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function message(): MetaMessage {
  const addrs: UdpAddr[] = Array.from({ length: int(6) }, () => ({
    address: random() < 0.5 ? ipv4() : ipv6(),
    port: pick(PORTS),
  }));
  const relays: VpnIp[] = Array.from({ length: pick([0, 0, 1, 3]) }, () =>
    random() < 0.8 ? pick(NUMBERS) : 'fd00::1',
  );
  const m: MetaMessage = {
    type: pick([
      0,
      MetaType.HostQueryReply,
      MetaType.HostUpdateNotification,
      MetaType.HostPunchNotification,
      MetaType.HostMovedNotification,
      200,
    ]) as MetaType,
    vpnIp: pick(NUMBERS),
    addrs,
    relays,
  };
  const counter = random();
  if (counter < 0.3) m.seen = pick(NUMBERS);
  else if (counter < 0.5) m.probePort = pick(PORTS);
  return m;
}

test('v1 messages with addresses and relays encode to the general encoder bytes and read back', () => {
  let withAddrs = 0;
  for (let i = 0; i < 5000; i++) {
    const m = message();
    const want = encodeMetaFields(m, 1);
    const got = encodeMeta(m);
    // The bytes: a message without addresses takes the bare path, which writes into a pooled Buffer.
    assert.deepEqual(new Uint8Array(got), want, JSON.stringify(m));
    if (m.addrs.length > 0) withAddrs++;
    const back = decodeMeta(got);
    assert.equal(back.addrs.length, m.addrs.length);
    assert.equal(back.vpnIp, m.vpnIp);
  }
  assert.ok(withAddrs > 3000, `${withAddrs} of 5000 carried addresses`);
});

test('what the general encoder refuses is refused with its error', () => {
  const base = (): MetaMessage => ({
    type: MetaType.HostQueryReply,
    vpnIp: 0x0a630001,
    addrs: [{ address: '192.0.2.1', port: 4242 }],
    relays: [1],
  });
  const addr = (address: string, port = 4242): UdpAddr[] => [{ address, port }];
  const bad: Array<(m: MetaMessage) => void> = [
    (m) => (m.addrs = addr('192.0.2.1', -1)),
    (m) => (m.addrs = addr('192.0.2.1', 1.5)),
    (m) => (m.addrs = addr('2001:db8::1', Number.NaN)),
    (m) => (m.addrs = addr('not an address')),
    (m) => (m.addrs = addr('1.2.3.256')),
    (m) => (m.addrs = addr('2001:db8::1::2')),
    (m) => (m.relays = [-1]),
    (m) => (m.seen = 2 ** 53),
    (m) => (m.type = -1 as MetaType),
  ];
  for (const change of bad) {
    const m = base();
    change(m);
    let want: unknown;
    assert.throws(
      () => encodeMetaFields(m, 1),
      (e) => ((want = e), true),
    );
    assert.throws(
      () => encodeMeta(m),
      (e: Error) => e.constructor === (want as Error).constructor && e.message === (want as Error).message,
      JSON.stringify(m),
    );
  }
  // A dotted quad with spaces around it: the general encoder trims it, and so the result is the same.
  const spaced = { ...base(), addrs: [{ address: ' 192.0.2.1 ', port: 4242 }] };
  assert.deepEqual(encodeMeta(spaced), encodeMetaFields(spaced, 1));
});
