import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCidr } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { orderAddresses } from '../../pkg/lighthouse/address-order.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';

// Candidate ordering (docs/wire-format.md, "Candidate order"; nebula 1.6.1 RemoteList.unlockedSort): preferred_ranges
// first, then IPv6 before IPv4, public IPv4 before RFC 1918, then address bytes, then port; duplicates removed.

const parse = (key: string): UdpAddr => {
  const m = /^\[(.+)\]:(\d+)$/.exec(key) ?? /^(.+):(\d+)$/.exec(key);
  if (!m) throw new Error(key);
  return udpAddr(m[1], Number(m[2]));
};
const order = (keys: string[], preferred: string[] = []): string[] =>
  orderAddresses(keys.map(parse), preferred.map(parseCidr)).map(addrKey);

test('addresses in preferred_ranges come first, even private IPv4 ahead of IPv6 and public IPv4', () => {
  assert.deepEqual(order(['198.51.100.1:1', '[2001:db8::1]:1', '192.168.1.5:1'], ['192.168.1.0/24']), [
    '192.168.1.5:1',
    '[2001:db8::1]:1',
    '198.51.100.1:1',
  ]);
});

test('several preferred ranges count the same; within them the usual order applies', () => {
  assert.deepEqual(
    order(['10.0.0.5:1', '198.51.100.9:1', '192.168.1.5:1', '8.8.8.8:1'], ['10.0.0.0/8', '198.51.100.0/24']),
    ['198.51.100.9:1', '10.0.0.5:1', '8.8.8.8:1', '192.168.1.5:1'],
  );
});

test('IPv6 comes before IPv4', () => {
  assert.deepEqual(order(['198.51.100.1:4242', '[2001:db8::1]:4242']), ['[2001:db8::1]:4242', '198.51.100.1:4242']);
});

test('public IPv4 comes before the three RFC 1918 blocks', () => {
  assert.deepEqual(
    order(['10.0.0.1:1', '172.16.0.1:1', '192.168.0.1:1', '203.0.113.1:1', '172.32.0.1:1', '100.64.0.1:1']),
    ['100.64.0.1:1', '172.32.0.1:1', '203.0.113.1:1', '10.0.0.1:1', '172.16.0.1:1', '192.168.0.1:1'],
  );
});

test('within a class IPv4 addresses sort by their bytes, not their text', () => {
  assert.deepEqual(order(['100.0.0.1:1', '11.0.0.1:1', '1.2.3.4:1', '9.255.255.255:1']), [
    '1.2.3.4:1',
    '9.255.255.255:1',
    '11.0.0.1:1',
    '100.0.0.1:1',
  ]);
});

test('the same address sorts by port', () => {
  assert.deepEqual(order(['198.51.100.1:5000', '198.51.100.1:4242', '198.51.100.1:80']), [
    '198.51.100.1:80',
    '198.51.100.1:4242',
    '198.51.100.1:5000',
  ]);
});

test('duplicates are removed, including IPv4-mapped spellings of the same IPv4 address', () => {
  const addrs = [udpAddr('198.51.100.1', 4242), udpAddr('198.51.100.1', 4242), udpAddr('::ffff:198.51.100.1', 4242)];
  assert.deepEqual(orderAddresses(addrs).map(addrKey), ['198.51.100.1:4242']);
});

test('no candidates give an empty list and one candidate stays as it is', () => {
  assert.deepEqual(order([]), []);
  assert.deepEqual(order(['192.168.1.1:1']), ['192.168.1.1:1']);
});

test('the order does not depend on the order the addresses arrived in', () => {
  const keys = [
    '192.168.1.5:4242',
    '[2001:db8::2]:1',
    '198.51.100.1:4242',
    '10.0.0.1:9',
    '198.51.100.1:80',
    '[2001:db8::1]:7',
  ];
  const want = [
    '10.0.0.1:9',
    '[2001:db8::1]:7',
    '[2001:db8::2]:1',
    '198.51.100.1:80',
    '198.51.100.1:4242',
    '192.168.1.5:4242',
  ];
  for (let k = 0; k < keys.length; k++) {
    const rotated = [...keys.slice(k), ...keys.slice(0, k)];
    assert.deepEqual(order(rotated, ['10.0.0.0/8']), want);
    assert.deepEqual(order(rotated.reverse(), ['10.0.0.0/8']), want);
  }
});

// Reported to the lead: address-order.ts compareAddress() orders two IPv6 addresses by their text (`a < b`), so
// 2001:db8::10 sorts before 2001:db8::a although its bytes are larger. Nebula compares the 16 bytes.
test('IPv6 addresses sort by their bytes, not their text', () => {
  assert.deepEqual(order(['[2001:db8::10]:1', '[2001:db8::a]:1', '[2001:db8::9]:1']), [
    '[2001:db8::9]:1',
    '[2001:db8::a]:1',
    '[2001:db8::10]:1',
  ]);
});

test('an IPv6 preferred range puts its addresses first, ahead of other IPv6 ones (Nebula: preferred_ranges are prefixes of either family)', () => {
  const keys = ['[2001:db8:1::5]:4242', '203.0.113.5:4242', '[2001:db8:2::5]:4242', '10.0.0.5:4242'];
  const ordered = orderAddresses(keys.map(parse), [parseIpPrefix('2001:db8:2::/48'), parseIpPrefix('10.0.0.0/8')]).map(
    addrKey,
  );
  assert.deepEqual(ordered, ['[2001:db8:2::5]:4242', '10.0.0.5:4242', '[2001:db8:1::5]:4242', '203.0.113.5:4242']);
});
