// The cache of the hosts other lighthouses serve (pkg/lighthouse/store/remote-cache.ts, docs/lighthouse-tier.md):
// its name index stays in step with the records, so serve_dns finds a name without walking the cache.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatVpnIp } from '../../pkg/ip/vpn-ip.js';
import { MAX_PER_NAME_EXAMINED, recordCost, RemoteCache } from '../../pkg/lighthouse/store/remote-cache.js';
import type { RemoteHost } from '../../pkg/lighthouse/store/store.js';
import { udpAddr } from '../../pkg/udp/addr.js';

function host(n: number, name?: string, writtenAt = 1000): RemoteHost {
  const vpnIp = parseIpv4('10.0.0.0') + n;
  return { vpnIp, servedBy: 'lh-2', writtenAt, learned: null, reported: [], relays: [], ...(name ? { name } : {}) };
}

const names = (it: Iterable<RemoteHost>) => [...it].map((h) => formatVpnIp(h.vpnIp)).sort();

test('the name index follows every set, replace, delete and sweep, and matches any ASCII case', () => {
  let now = 1000;
  const cache = new RemoteCache((h) => now - h.writtenAt <= 100);
  cache.set('10.0.0.1', host(1, 'Web'));
  cache.set('10.0.0.2', host(2, 'web'));
  cache.set('10.0.0.3', host(3));
  assert.deepEqual(names(cache.named('WEB')), ['10.0.0.1', '10.0.0.2']);
  cache.set('10.0.0.2', host(2, 'db')); // renamed: gone from 'web'
  assert.deepEqual(names(cache.named('web')), ['10.0.0.1']);
  assert.deepEqual(names(cache.named('db')), ['10.0.0.2']);
  cache.delete('10.0.0.1');
  assert.deepEqual(names(cache.named('web')), []);
  cache.set('10.0.0.4', host(4, 'db', 1050));
  now = 1120; // 10.0.0.2 aged out, 10.0.0.4 not
  assert.deepEqual(names(cache.named('db')), ['10.0.0.4'], 'a stale record is not named');
  cache.sweep();
  assert.equal(cache.size, 1, 'only 10.0.0.4 is fresh');
  cache.delete('10.0.0.4');
  assert.deepEqual(names(cache.named('db')), []);
});

test('a DNS question looks at a bounded number of records, whatever the cache holds', () => {
  let calls = 0;
  const cache = new RemoteCache(() => (calls++, true));
  for (let i = 0; i < 20_000; i++) cache.set(`k${i}`, host(i, i % 2 === 0 ? 'same' : `h${i}`));
  calls = 0;
  assert.equal([...cache.named('h7')].length, 1);
  assert.equal(calls, 1, 'one record of that name looked at, not the whole cache');
  calls = 0;
  assert.equal([...cache.named('same')].length, MAX_PER_NAME_EXAMINED);
  assert.equal(calls, MAX_PER_NAME_EXAMINED);
  calls = 0;
  assert.equal([...cache.named('nobody')].length, 0);
  assert.equal(calls, 0);
});

test('the cache is bounded by estimated heap as well as by count; replacing and deleting give the bytes back', () => {
  const big = (n: number): RemoteHost => ({
    ...host(n, 'x'.repeat(253)),
    learned: udpAddr('2001:db8::1', 1),
    reported: Array.from({ length: 20 }, (_, i) => udpAddr('2001:db8::2', 1000 + i)),
    relays: Array.from({ length: 32 }, (_, i) => parseIpv4('10.0.9.0') + i),
  });
  const cost = recordCost(big(0));
  assert.ok(cost >= 9000 && cost <= 10_000, `a full record is ~9.5 KB (${cost})`);
  const cache = new RemoteCache(() => true, 1000, 3 * cost);
  for (let i = 0; i < 3; i++) {
    assert.ok(cache.fits(`k${i}`, big(i)));
    cache.set(`k${i}`, big(i));
  }
  assert.equal(cache.fits('k3', big(3)), false, 'a fourth full record is over the byte budget');
  assert.equal(cache.fits('k3', host(3)), false, 'so is a small one');
  assert.equal(cache.fits('k2', big(2)), true, 'a replacement of the same size fits');
  cache.set('k2', host(2));
  assert.equal(cache.bytes, 2 * cost + recordCost(host(2)));
  assert.equal(cache.fits('k3', host(3)), true);
  cache.delete('k0');
  cache.delete('k1');
  cache.delete('k2');
  assert.equal(cache.bytes, 0);
  const counted = new RemoteCache(() => true, 2, Infinity);
  counted.set('a', host(1));
  counted.set('b', host(2));
  assert.equal(counted.fits('c', host(3)), false, 'the count bound holds too');
});
