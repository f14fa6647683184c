import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS } from '../../pkg/firewall/drop-reason.js';
import { Firewall, newFirewallPacket, parseFirewallRules, parseIpv4Packet } from '../../pkg/firewall/firewall.js';
import { ManualClock } from '../../pkg/clock/clock.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { ICMP, TCP, UDP, ipv4Packet, peer, seededRandom } from './firewall-fixtures.js';

test('an outbound packet is read with local = source and remote = destination', () => {
  const p = newFirewallPacket();
  const buf = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: TCP, srcPort: 40000, dstPort: 443 });
  assert.equal(parseIpv4Packet(buf, false, p), null);
  assert.deepEqual(p, {
    localIp: parseIpv4('10.1.0.1'),
    remoteIp: parseIpv4('10.1.0.2'),
    localPort: 40000,
    remotePort: 443,
    protocol: TCP,
    fragment: false,
    ipv6: false,
    local6: new Uint32Array(4),
    remote6: new Uint32Array(4),
  });
});

test('an inbound packet is read with remote = source and local = destination', () => {
  const p = newFirewallPacket();
  const buf = ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: UDP, srcPort: 5353, dstPort: 53 });
  assert.equal(parseIpv4Packet(buf, true, p), null);
  assert.deepEqual(
    [p.remoteIp, p.localIp, p.remotePort, p.localPort],
    [parseIpv4('10.1.0.2'), parseIpv4('10.1.0.1'), 5353, 53],
  );
});

test('ports are read after IP options', () => {
  const p = newFirewallPacket();
  const buf = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: UDP, srcPort: 1, dstPort: 2, options: 8 });
  assert.equal(parseIpv4Packet(buf, false, p), null);
  assert.deepEqual([p.localPort, p.remotePort], [1, 2]);
});

test('ICMP gets ports 0 in both directions', () => {
  const p = newFirewallPacket();
  assert.equal(parseIpv4Packet(ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: ICMP }), false, p), null);
  assert.deepEqual([p.localPort, p.remotePort, p.fragment], [0, 0, false]);
});

test('a non-first fragment is flagged and carries no ports; a first fragment keeps its ports', () => {
  const p = newFirewallPacket();
  const later = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: UDP, fragOffset: 185, payload: 2 });
  assert.equal(parseIpv4Packet(later, false, p), null);
  assert.deepEqual([p.fragment, p.localPort, p.remotePort], [true, 0, 0]);
  const first = ipv4Packet({
    src: '10.1.0.1',
    dst: '10.1.0.2',
    proto: UDP,
    srcPort: 7,
    dstPort: 9,
    moreFragments: true,
  });
  assert.equal(parseIpv4Packet(first, false, p), null);
  assert.deepEqual([p.fragment, p.localPort, p.remotePort], [false, 7, 9]);
});

test('too short, non-IPv4 and bad header lengths are reported as reasons', () => {
  const p = newFirewallPacket();
  const udp = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: UDP, srcPort: 1, dstPort: 2 });
  assert.equal(parseIpv4Packet(udp.subarray(0, 19), false, p), 'short-packet');
  assert.equal(parseIpv4Packet(udp.subarray(0, 23), false, p), 'short-packet', 'header but no full ports');
  assert.equal(parseIpv4Packet(udp.subarray(0, 24), false, p), null);
  const icmpHeaderOnly = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: ICMP }).subarray(0, 20);
  assert.equal(parseIpv4Packet(icmpHeaderOnly, false, p), null, 'ICMP needs no port bytes');
  const v6 = udp.slice();
  v6[0] = 0x60;
  assert.equal(parseIpv4Packet(v6, false, p), 'not-ipv4');
  const badIhl = udp.slice();
  badIhl[0] = 0x44;
  assert.equal(parseIpv4Packet(badIhl, false, p), 'bad-header');
  const longIhl = udp.slice();
  longIhl[0] = 0x4f;
  assert.equal(parseIpv4Packet(longIhl, false, p), 'short-packet');
});

test('random bytes and mutated packets never throw and always get an allowed verdict or a known reason', () => {
  const random = seededRandom(0xf12e);
  const reasons = new Set<string | null>([null, ...DROP_REASONS]);
  const fw = new Firewall(
    parseFirewallRules({
      inbound: [{ proto: 'any', port: 'any', host: 'any' }],
      outbound: [{ proto: 'any', port: 'any', host: 'any' }],
    }),
    {
      clock: new ManualClock(),
      localNets: [{ ip: parseIpv4('10.1.0.1'), mask: 0xffffffff }],
    },
  );
  const remote = peer({ ip: '10.1.0.2' });
  const seeds = [
    ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: TCP, srcPort: 1, dstPort: 2 }),
    ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: ICMP }),
    ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: UDP, fragOffset: 3 }),
  ];
  const seen = new Set<string | null>();
  for (let i = 0; i < 20_000; i++) {
    let buf: Uint8Array;
    if (i % 2 === 0) {
      buf = new Uint8Array(Math.floor(random() * 64));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(random() * 256);
      if (buf.length > 0 && random() < 0.5) buf[0] = 0x40 | (buf[0] & 0x0f);
    } else {
      const seed = seeds[i % seeds.length];
      buf = seed.slice(0, Math.floor(random() * (seed.length + 1)));
      for (let flips = 0; flips < 3 && buf.length > 0; flips++)
        buf[Math.floor(random() * buf.length)] ^= 1 << Math.floor(random() * 8);
    }
    const verdict = fw.filter(buf, random() < 0.5, remote);
    assert.ok(reasons.has(verdict), `unexpected verdict ${verdict}`);
    seen.add(verdict);
    fw.rejectReply(buf, true);
  }
  for (const reason of ['short-packet', 'not-ipv4', 'bad-header', 'remote-not-in-cert', null]) {
    assert.ok(seen.has(reason), `fuzzing never produced ${reason}`);
  }
});
