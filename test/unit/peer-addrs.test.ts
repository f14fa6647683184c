import assert from 'node:assert/strict';
import { test } from 'node:test';

import { inNetworks, usablePeerAddrs } from '../../pkg/handshake/peer-addrs.js';
import { ipv4Addr, ipv6Addr, parseIpPrefix, type IpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp, vpnIp6FromBytes, vpnIpInPrefix, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { runFuzz } from './helpers/fuzz.js';

// The address rules of a handshake and the network check the data path runs on its cache misses
// (docs/ipv6.md, "Handshake address rules").

const NETS = ['10.99.0.1/24', 'fd00:99::1/64'].map(parseIpPrefix);

test('inNetworks agrees with a per-prefix check on random addresses and prefixes of both families', () => {
  runFuzz('inNetworks', { iterations: 5000, ms: 1500 }, (r) => {
    const nets: IpPrefix[] = Array.from({ length: 1 + r.int(3) }, () => {
      const v6 = r.chance(0.5);
      const addr = v6 ? ipv6Addr(r.bytes(16)) : ipv4Addr(r.bytes(4));
      return { addr, bits: r.int(v6 ? 129 : 33) };
    });
    // Addresses near the networks (a network's address with a few bits flipped) as well as random ones.
    const base = r.pick(nets).addr.bytes.slice();
    if (r.chance(0.7)) base[r.int(base.length)] ^= 1 << r.int(8);
    else base.set(r.bytes(base.length));
    const addr: VpnIp =
      base.length === 4 ? ((base[0] << 24) | (base[1] << 16) | (base[2] << 8) | base[3]) >>> 0 : vpnIp6FromBytes(base);
    if (typeof addr === 'number' && base.length === 16) return; // a mapped address drawn at random: IPv4 then
    assert.equal(
      inNetworks(addr, nets),
      nets.some((n) => vpnIpInPrefix(addr, n)),
      `${String(addr)} in ${nets.map((n) => n.bits).join(',')}`,
    );
  });
});

test('inNetworks: family must match, /0 holds its whole family, a negative length (non-prefix v1 mask) holds nothing', () => {
  assert.equal(inNetworks(parseVpnIp('10.99.0.7'), NETS), true);
  assert.equal(inNetworks(parseVpnIp('10.98.0.7'), NETS), false);
  assert.equal(inNetworks('fd00:99::7', NETS), true);
  assert.equal(inNetworks('fd00:98::7', NETS), false);
  assert.equal(inNetworks(parseVpnIp('1.2.3.4'), [parseIpPrefix('0.0.0.0/0')]), true);
  assert.equal(inNetworks('2001:db8::1', [parseIpPrefix('0.0.0.0/0')]), false);
  assert.equal(inNetworks(parseVpnIp('10.99.0.1'), [{ addr: parseIpPrefix('10.99.0.0/24').addr, bits: -1 }]), false);
  assert.equal(inNetworks('fd00:99::', [{ addr: parseIpPrefix('fd00:99::/64').addr, bits: -1 }]), false);
});

test('usablePeerAddrs: ours claimed -> self; otherwise every certificate address, noting whether any is inside ours', () => {
  const ours = { vpnAddrs: [parseVpnIp('10.99.0.1'), 'fd00:99::1'], vpnNetworks: NETS };
  assert.deepEqual(usablePeerAddrs(['fd00:99::1'], ours), { ok: false, reason: 'self' });
  const none = [parseVpnIp('10.98.0.2'), 'fd00:98::2'];
  assert.deepEqual(usablePeerAddrs(none, ours), { ok: true, vpnAddrs: none, inCommon: false });
  const some = [parseVpnIp('10.98.0.2'), 'fd00:99::2'];
  assert.deepEqual(usablePeerAddrs(some, ours), { ok: true, vpnAddrs: some, inCommon: true });
});
