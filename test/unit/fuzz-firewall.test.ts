// Fuzzing the firewall's two inputs: inner packets from peers (parsed, judged in both directions with conntrack,
// and answered with a reject reply) and rule sections from the config. Packets never throw, every verdict is a
// known drop reason, and a reject reply is a well-formed packet of the same family back to the sender: IPv4 of
// at most 96 bytes (ICMP: 28 bytes of its own plus the offending header, up to 60, and 8 bytes of it), IPv6 of
// at most 1048 (40 + 8 + 1000 quoted) and never more than 48 bytes longer than what it answers, its checksum
// right. Rule sections load or fail with FirewallConfigError only. firewall-packet.test.ts fuzzes with flips and
// cuts; this adds the shared mutators (boundary integers in IHL, length, offset and port fields, splices across
// protocols and families, IPv6 extension header chains).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { internetChecksum } from '../../pkg/firewall/checksum.js';
import { FirewallConfigError } from '../../pkg/firewall/config-error.js';
import { DROP_REASONS } from '../../pkg/firewall/drop-reason.js';
import { Firewall, newFirewallPacket, parseFirewallRules, parseIpv4Packet } from '../../pkg/firewall/firewall.js';
import { parseIpv6Packet } from '../../pkg/firewall/packet-ipv6.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { expectOnly, hex, mutate, randomBytes, runFuzz, type Rand } from './helpers/fuzz.js';
import { ICMP, ICMPV6, TCP, UDP, ipv4Packet, ipv6Packet, peer, upperChecksum6 } from './firewall-fixtures.js';

const MAX_REJECT_REPLY = 20 + 8 + 60 + 8;
const MAX_REJECT_REPLY6 = 40 + 8 + 1000;

test('fuzz firewall packets: never throw, known verdicts, and reject replies are small well-formed packets back to the sender', () => {
  const clock = new ManualClock();
  const rules = parseFirewallRules({
    inbound: [
      { proto: 'tcp', port: '22', group: 'admin' },
      { proto: 'icmp', port: 'any', host: 'any' },
      { proto: 'udp', port: '1000-2000', cidr: '10.1.0.0/16' },
      { proto: 'udp', port: '1000-2000', cidr: 'fd00::/64', local_cidr: 'fd00::1/128' },
      { proto: 'any', port: 'fragment', cidr: '::/0' },
    ],
    outbound: [{ proto: 'any', port: 'any', host: 'any' }],
    inbound_action: 'reject',
  });
  const fw = new Firewall(rules, { clock, vpnNetworks: ['10.1.0.1/16', 'fd00::1/64'].map(parseIpPrefix) });
  const peers = [
    peer({ ip: '10.1.0.2', ips: ['fd00::2'], groups: ['admin'] }),
    peer({ ip: '10.1.0.3' }),
    peer({ ip: 'fd00::3', subnets: ['fd01::/64'] }),
  ];
  const samples = [
    ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: TCP, srcPort: 40000, dstPort: 22 }),
    ipv4Packet({ src: '10.1.0.3', dst: '10.1.0.1', proto: UDP, srcPort: 5000, dstPort: 1500 }),
    ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: ICMP }),
    ipv4Packet({ src: '10.1.0.3', dst: '10.1.0.1', proto: UDP, fragOffset: 3 }),
    ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: TCP, srcPort: 22, dstPort: 40000 }),
    ipv6Packet({ src: 'fd00::2', dst: 'fd00::1', proto: TCP, srcPort: 40000, dstPort: 22 }),
    ipv6Packet({
      src: 'fd00::3',
      dst: 'fd00::1',
      proto: UDP,
      srcPort: 5000,
      dstPort: 1500,
      ext: [{ type: 0 }, { type: 60, lengthField: 1 }],
    }),
    ipv6Packet({ src: 'fd01::9', dst: 'fd00::1', proto: ICMPV6, icmpType: 128, ext: [{ type: 43 }, { type: 51 }] }),
    ipv6Packet({ src: 'fd00::2', dst: 'fd00::1', proto: UDP, ext: [{ type: 44, fragOffset: 5, moreFragments: true }] }),
    ipv6Packet({
      src: 'fd00::3',
      dst: 'fd00::1',
      proto: TCP,
      srcPort: 1,
      dstPort: 2,
      payload: 1200,
      ext: [{ type: 44, moreFragments: true }],
    }),
    ipv6Packet({ src: 'fd00::1', dst: 'fd00::2', proto: ICMPV6, icmpType: 129 }),
  ];
  const reasons = new Set<string | null>([null, ...DROP_REASONS]);
  const parsed = newFirewallPacket();
  let replies = 0;
  let replies6 = 0;
  runFuzz('firewall-packets', { iterations: 30_000, minIterations: 3500, ms: 1000, seed: 0xf17e }, (r: Rand) => {
    const b = r.chance(0.2) ? randomBytes(r, 80) : mutate(r, r.pick(samples), samples, 3, 200);
    if (r.chance(0.01)) clock.advance(60_000);
    const incoming = r.chance(0.7);
    const why =
      b.length > 0 && b[0] >>> 4 === 6 ? parseIpv6Packet(b, incoming, parsed) : parseIpv4Packet(b, incoming, parsed);
    assert.ok(why === null || reasons.has(why), `parse reason ${why}`);
    const verdict = fw.filter(b, incoming, r.pick(peers));
    assert.ok(reasons.has(verdict), `verdict ${verdict} for ${hex(b)}`);
    const reply = fw.rejectReply(b, incoming);
    if (reply === null) return;
    replies++;
    if (b[0] >>> 4 === 6) {
      replies6++;
      assert.ok(
        reply.length >= 60 && reply.length <= MAX_REJECT_REPLY6 && reply.length <= b.length + 48,
        `reject reply of ${reply.length} bytes to ${hex(b)}`,
      );
      assert.equal(reply[0] >>> 4, 6);
      assert.equal((reply[4] << 8) | reply[5], reply.length - 40, 'payload length');
      assert.ok(reply[6] === TCP || reply[6] === ICMPV6);
      const at = reply[6] === TCP ? 40 + 16 : 40 + 2;
      assert.equal(
        (reply[at] << 8) | reply[at + 1],
        upperChecksum6(reply, 40, reply[6]),
        `reply checksum for ${hex(b)}`,
      );
      assert.deepEqual(reply.subarray(24, 40), b.subarray(8, 24), 'the reply goes to the packet source');
      return;
    }
    assert.ok(
      reply.length >= 20 && reply.length <= MAX_REJECT_REPLY,
      `reject reply of ${reply.length} bytes to ${hex(b)}`,
    );
    assert.equal(reply[0] >>> 4, 4);
    assert.equal(internetChecksum(reply, 0, (reply[0] & 0x0f) * 4), 0, `reply header checksum for ${hex(b)}`);
    assert.deepEqual(reply.subarray(16, 20), b.subarray(12, 16), 'the reply goes to the packet source');
  });
  assert.ok(replies > 1000 && replies6 > 300, `only ${replies} reject replies, ${replies6} of them IPv6`);
});

function someRule(r: Rand): Record<string, unknown> {
  const rule: Record<string, unknown> = {};
  const values: unknown[] = [
    'any',
    'tcp',
    'udp',
    'icmp',
    'fragment',
    '0',
    '1-65535',
    '65536',
    '90-80',
    '-1',
    '',
    22,
    -1,
    2 ** 53,
    1.5,
    null,
    [],
    {},
    ['a', 'b'],
    'admin',
    '10.1.0.0/16',
    '10.1.0.0/33',
    'abc',
    '0.0.0.0/0',
    '0.0.0.0/8',
    'fd00::/8',
    '192.168.100.1/24',
    '::/0',
    'fd00::1/128',
    'fd00::/129',
    '::ffff:10.0.0.0/104',
    'fe80::1%eth0/64',
    'fd00::/08',
  ];
  for (const key of [
    'port',
    'proto',
    'host',
    'group',
    'groups',
    'cidr',
    'local_cidr',
    'ca_name',
    'ca_sha',
    'code',
    r.pick(['x', 'Port', '']),
  ]) {
    if (r.chance(0.4)) rule[key] = r.pick(values);
  }
  return rule;
}

test('fuzz firewall rules: any rule section loads or fails with FirewallConfigError', () => {
  let loaded = 0;
  runFuzz('firewall-rules', { iterations: 20_000, minIterations: 2000, ms: 800, seed: 0xf17f }, (r) => {
    const section: Record<string, unknown> = {};
    if (r.chance(0.9))
      section.inbound = r.chance(0.9)
        ? Array.from({ length: r.int(4) }, () => (r.chance(0.9) ? someRule(r) : r.pick([null, 'x', 5, []])))
        : r.pick([null, 'x', {}]);
    if (r.chance(0.5)) section.outbound = Array.from({ length: r.int(3) }, () => someRule(r));
    if (r.chance(0.2)) section.inbound_action = r.pick(['drop', 'reject', 'accept', '', 5, null]);
    if (r.chance(0.2)) section.default_local_cidr_any = r.pick([true, false, 'yes', 1, null]);
    if (r.chance(0.2))
      section.conntrack = r.pick([
        { tcp_timeout: '12m' },
        { udp_timeout: -1 },
        { default_timeout: 'x' },
        { max_connections: 2 ** 53 },
        null,
        'x',
        [],
      ]);
    const context = { unsafeNetworks: r.chance(0.5) };
    if (
      expectOnly(
        () => parseFirewallRules(section as Parameters<typeof parseFirewallRules>[0], context),
        (e) => e instanceof FirewallConfigError,
        JSON.stringify(section),
      ).ok
    )
      loaded++;
  });
  assert.ok(loaded > 100, `only ${loaded} sections loaded`);
});
