import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SEEN_FIRST_V4, SEEN_FIRST_V6 } from '../../pkg/lighthouse/meta.js';
import {
  isGlobalIpv6,
  needsPunch,
  onLocalNetwork,
  reportedAddresses,
  splitByPunch,
  type PunchView,
} from '../../pkg/punchy/punch-needed.js';
import { addrKey, udpAddr } from '../../pkg/udp/addr.js';

// Which of a peer's candidate addresses need the low-TTL punch and its settle before stage 1: only those where a
// NAT in front of the peer could see our packet before the peer's own.

const LAN = [
  { address: '192.168.7.1', prefixLength: 24 },
  { address: '10.20.0.5', prefixLength: 16 },
  { address: '2001:db8:1:2::1', prefixLength: 64 },
];

function view(o: Partial<PunchView> = {}): PunchView {
  return {
    localNetworks: LAN,
    ourPublicIp: '198.51.100.1',
    peerPublicIp: '203.0.113.9',
    peerReported: [],
    peerUnNated: false,
    ...o,
  };
}

test('an address on the network of one of our interfaces needs no punch, judged by that interface prefix', () => {
  assert.equal(needsPunch(udpAddr('192.168.7.44', 4242), view()), false);
  assert.equal(needsPunch(udpAddr('192.168.8.44', 4242), view()), true, 'next /24: another network');
  // A /16 interface: an address a fixed /24 would call foreign is on our network.
  assert.equal(needsPunch(udpAddr('10.20.99.7', 4242), view()), false);
  assert.equal(needsPunch(udpAddr('10.21.0.7', 4242), view()), true);
  assert.equal(needsPunch(udpAddr('2001:db8:1:2::99', 4242), view()), false, 'same IPv6 /64');
  assert.equal(onLocalNetwork('2001:db8:1:3::99', LAN), false);
  assert.equal(onLocalNetwork('192.168.7.44', []), false);
});

test("the NAT's public address the lighthouse saw needs a punch", () => {
  const seen = udpAddr('203.0.113.9', 4242);
  assert.equal(needsPunch(seen, view({ peerReported: [udpAddr('10.9.0.2', 4242)] })), true);
});

test("behind our own NAT: the peer's reported private addresses go at once, the shared public address still waits", () => {
  const shared = view({
    ourPublicIp: '203.0.113.9',
    peerPublicIp: '203.0.113.9',
    peerReported: [udpAddr('172.16.5.2', 4242)],
  });
  assert.equal(needsPunch(udpAddr('172.16.5.2', 4242), shared), false, 'a private address on another LAN of our NAT');
  assert.equal(needsPunch(udpAddr('203.0.113.9', 4242), shared), true, 'hairpin through our NAT');
  assert.equal(needsPunch(udpAddr('172.16.5.3', 4242), shared), true, 'not an address the peer reported');
  const different = view({ peerReported: [udpAddr('172.16.5.2', 4242)] });
  assert.equal(
    needsPunch(udpAddr('172.16.5.2', 4242), different),
    true,
    'another NAT: its private address is no concern of ours, but not proven reachable',
  );
  const unknown = view({
    ourPublicIp: undefined,
    peerPublicIp: undefined,
    peerReported: [udpAddr('172.16.5.2', 4242)],
  });
  assert.equal(needsPunch(udpAddr('172.16.5.2', 4242), unknown), true, 'neither public address known');
});

test('a global IPv6 address the peer reported as its own needs no punch; one it did not report, or a non-global one, does', () => {
  const v6 = udpAddr('2001:db8:99::2', 4242);
  assert.equal(needsPunch(v6, view({ peerReported: [v6] })), false);
  assert.equal(needsPunch(v6, view()), true, 'only seen by the lighthouse: may be a NAT66 address');
  const ula = udpAddr('fd00:1::2', 4242);
  assert.equal(needsPunch(ula, view({ peerReported: [ula] })), true);
  assert.equal(isGlobalIpv6('2001:db8::1'), true);
  assert.equal(isGlobalIpv6('3fff::1'), true);
  assert.equal(isGlobalIpv6('fe80::1'), false);
  assert.equal(isGlobalIpv6('ff02::1'), false);
  assert.equal(isGlobalIpv6('::1'), false);
});

test('a peer the lighthouse sees at one of its own addresses has no NAT: nothing needs a punch', () => {
  assert.equal(needsPunch(udpAddr('203.0.113.9', 4242), view({ peerUnNated: true })), false);
});

test('splitByPunch keeps the order within each group', () => {
  const addrs = ['2001:db8:99::2', '203.0.113.9', '192.168.7.2', '192.168.7.3'].map((a) => udpAddr(a, 4242));
  const { direct, punched } = splitByPunch(addrs, view({ peerReported: [addrs[0]] }));
  assert.deepEqual(direct.map(addrKey), ['[2001:db8:99::2]:4242', '192.168.7.2:4242', '192.168.7.3:4242']);
  assert.deepEqual(punched.map(addrKey), ['203.0.113.9:4242']);
});

test("reportedAddresses: the lighthouse's own sighting is left out, per family, as its SEEN bits say", () => {
  const learned4 = udpAddr('203.0.113.9', 4242);
  const own4 = udpAddr('10.9.0.2', 4242);
  const learned6 = udpAddr('2001:db8:ffff::9', 1111);
  const own6 = udpAddr('2001:db8:99::2', 4242);
  const keys = (s: number, addrs = [learned4, own4, learned6, own6]) => reportedAddresses(addrs, s).map(addrKey);
  // Seen over IPv4 by a mesh lighthouse: every IPv6 address was reported.
  assert.deepEqual(keys(SEEN_FIRST_V4, [learned4, own4, own6]), ['10.9.0.2:4242', '[2001:db8:99::2]:4242']);
  // Seen over IPv6: the IPv4 addresses were all reported, the first IPv6 one was seen.
  assert.deepEqual(keys(SEEN_FIRST_V6, [own4, learned6, own6]), ['10.9.0.2:4242', '[2001:db8:99::2]:4242']);
  // Unmarked (a Nebula lighthouse): the first of each family may be the learned one.
  assert.deepEqual(keys(0), ['10.9.0.2:4242', '[2001:db8:99::2]:4242']);
  // Seen at an address the host also reported: listed twice, so it counts as reported.
  assert.deepEqual(keys(SEEN_FIRST_V6, [own6, own6]), ['[2001:db8:99::2]:4242']);
  assert.deepEqual(keys(SEEN_FIRST_V4, []), []);
});
