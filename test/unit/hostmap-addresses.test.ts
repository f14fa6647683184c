import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { parseVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';

// A tunnel with several overlay addresses (a dual-stack v2 certificate) is found by any of them, counted and
// iterated once, and removed from all of them (docs/ipv6.md), on stand-in tunnels.

let nextIndex = 1;
function tunnel(...addrs: string[]): HostInfo {
  const i = nextIndex++;
  const vpnAddrs: VpnIp[] = addrs.map(parseVpnIp);
  return { vpnIp: vpnAddrs[0], vpnAddrs, localIndex: i, remoteIndex: 1000 + i } as unknown as HostInfo;
}

const V4 = parseVpnIp('10.1.0.2');
const V6 = parseVpnIp('fd00::2');

test('a dual-stack tunnel is found by each address, iterated once, and removal drops every key', () => {
  const map = new HostMap();
  const h = tunnel('10.1.0.2', 'fd00::2');
  assert.equal(map.add(h), undefined);
  assert.equal(map.get(V4), h);
  assert.equal(map.get(V6), h);
  assert.equal(map.byVpnIp.get(V6), h);
  assert.equal(map.size, 1);
  assert.deepEqual([...map.hosts()], [h]);
  map.remove(h);
  assert.equal(map.get(V4), undefined);
  assert.equal(map.get(V6), undefined);
  assert.equal(map.byVpnIp.size, 0);
  assert.equal(map.byPrimary.size, 0);
  assert.equal(map.byIndex.size, 0);
});

test('a new tunnel holding any address of an older one replaces it under all of its addresses', () => {
  const map = new HostMap();
  const old = tunnel('10.1.0.2', 'fd00::2');
  map.add(old);
  // The newer handshake names only the IPv6 address (a v6-only certificate now): the old tunnel goes entirely.
  const fresh = tunnel('fd00::2');
  assert.equal(map.add(fresh), old);
  assert.equal(map.get(V6), fresh);
  assert.equal(map.get(V4), undefined, 'no stale key of the replaced tunnel');
  assert.equal(map.byIndex.has(old.localIndex), false);
  assert.equal(map.size, 1);
});

test('an IPv6-only tunnel is keyed by its text and an IPv4 one by its number, side by side', () => {
  const map = new HostMap();
  const a = tunnel('fd00::3');
  const b = tunnel('10.1.0.3');
  map.add(a);
  map.add(b);
  assert.equal(map.get('fd00::3'), a);
  assert.equal(map.get(parseVpnIp('10.1.0.3')), b);
  assert.equal(map.get(parseVpnIp('::ffff:10.1.0.3')), b, 'a mapped IPv4 address is the IPv4 address');
  assert.equal(map.size, 2);
});

test('candidates are held under every address: a tunnel for either address ends them, a promotion too', () => {
  const map = new HostMap();
  const c1 = tunnel('10.1.0.2', 'fd00::2');
  const c2 = tunnel('10.1.0.2', 'fd00::2');
  map.addCandidate(c1);
  map.addCandidate(c2);
  assert.deepEqual(map.candidatesFor(V6), [c1, c2]);
  assert.deepEqual(map.candidatesFor(V4), [c1, c2]);
  assert.equal(map.get(V6), undefined, 'candidates are not in the send path');
  map.promote(c2);
  assert.deepEqual(map.candidatesFor(V6), []);
  assert.deepEqual(map.candidatesFor(V4), []);
  assert.equal(map.get(V6), c2);

  const c3 = tunnel('10.1.0.2', 'fd00::2');
  map.addCandidate(c3);
  // A tunnel whose primary address is another (the peer's new certificate lists a new IPv6 network first) still
  // ends the candidates and the tunnel held under its second address.
  const ours = tunnel('fd00::9', '10.1.0.2');
  assert.equal(map.add(ours), c2);
  assert.deepEqual(map.candidatesFor(V4), []);
  assert.equal(map.get(V6), undefined, 'the replaced tunnel left its other address too');
  assert.equal(map.candidates.size, 0);
  assert.equal(map.byIndex.size, 1);
});
