import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareVpnIp,
  formatVpnIp,
  parseVpnIp,
  vpnIp6FromBytes,
  vpnIpBytes,
  vpnIpFamily,
  vpnIpFromIpAddr,
  vpnIpInPrefix,
} from '../../pkg/ip/vpn-ip.js';
import { parseIpAddr, parseIpPrefix } from '../../pkg/ip/prefix.js';

test('IPv4 is its uint32, IPv6 its canonical text, a mapped address is IPv4', () => {
  assert.equal(parseVpnIp('10.1.2.3'), 0x0a010203);
  assert.equal(parseVpnIp('FD00:0:0::0001'), 'fd00::1');
  assert.equal(parseVpnIp('::ffff:10.1.2.3'), 0x0a010203);
  assert.equal(vpnIpFamily(parseVpnIp('fd00::1')), 6);
  assert.equal(formatVpnIp(0x0a010203), '10.1.2.3');
  assert.equal(formatVpnIp(parseVpnIp('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  assert.throws(() => parseVpnIp('10.1.2'), /invalid IP address/);
  assert.throws(() => parseVpnIp('fd00::1%eth0'), /invalid IP address/);
});

test('bytes round trip and the same key from packet bytes as from text', () => {
  const b = vpnIpBytes('fd00::1');
  assert.equal(b.length, 16);
  const pkt = new Uint8Array(40);
  pkt.set(b, 24);
  assert.equal(vpnIp6FromBytes(pkt, 24), 'fd00::1');
  assert.deepEqual([...vpnIpBytes(0x0a010203)], [10, 1, 2, 3]);
  assert.equal(vpnIpFromIpAddr(parseIpAddr('fd00::2')), 'fd00::2');
  assert.equal(vpnIpFromIpAddr(parseIpAddr('10.0.0.9')), 0x0a000009);
});

test('prefix membership is per family and bit-exact', () => {
  assert.equal(vpnIpInPrefix('fd00::1', parseIpPrefix('fd00::/64')), true);
  assert.equal(vpnIpInPrefix('fd00:0:0:1::1', parseIpPrefix('fd00::/64')), false);
  assert.equal(vpnIpInPrefix('fd00:0:0:1::1', parseIpPrefix('fd00::/63')), true);
  assert.equal(vpnIpInPrefix(0x0a010203, parseIpPrefix('10.1.0.0/16')), true);
  assert.equal(vpnIpInPrefix(0x0a010203, parseIpPrefix('::/0')), false);
  assert.equal(vpnIpInPrefix('fd00::1', parseIpPrefix('0.0.0.0/0')), false);
});

test('order: IPv4 first, then bytes', () => {
  const sorted = ['fd00::2', 0x0a000002, 'fd00::10', 0x0a000001].sort(compareVpnIp);
  assert.deepEqual(sorted, [0x0a000001, 0x0a000002, 'fd00::2', 'fd00::10']);
});
