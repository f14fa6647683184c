import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// Candidate bookkeeping in the hostmap, on stand-in tunnels (the hostmap reads only these four fields).

let nextIndex = 1;
function tunnel(vpnIp: number): HostInfo {
  const i = nextIndex++;
  return { vpnIp, vpnAddrs: [vpnIp], localIndex: i, remoteIndex: 1000 + i } as unknown as HostInfo;
}

test('candidates in all are bounded: at the bound the oldest makes room, whatever its overlay IP', () => {
  const map = new HostMap();
  const held = Array.from({ length: 5 }, (_, i) => tunnel(10 + i));
  for (const c of held.slice(0, 4)) assert.equal(map.addCandidate(c, 4), undefined);
  assert.equal(map.addCandidate(held[4], 4), held[0]);
  assert.equal(map.candidates.size, 4);
  assert.equal(map.byIndex.has(held[0].localIndex), false);
  assert.deepEqual(map.candidatesFor(10), []);
  assert.deepEqual(map.candidatesFor(14), [held[4]]);
});

test('a promoted candidate ends the older candidates for its IP, keeps the newer ones, and only it is in the send path', () => {
  const map = new HostMap();
  const [older, proven, newer] = [tunnel(7), tunnel(7), tunnel(7)];
  for (const c of [older, proven, newer]) map.addCandidate(c);
  assert.equal(map.byVpnIp.size, 0, 'candidates are not in the send path');
  map.promote(proven);
  assert.equal(map.byVpnIp.get(7), proven);
  assert.deepEqual(map.candidatesFor(7), [newer]);
  assert.equal(map.byIndex.has(older.localIndex), false);
  assert.equal(map.isCandidate(proven), false);

  // A tunnel of our own (initiator) ends every candidate.
  const ours = tunnel(7);
  assert.equal(map.add(ours), proven);
  assert.deepEqual(map.candidatesFor(7), []);
  assert.equal(map.candidates.size, 0);
  assert.equal(map.byIndex.size, 1);
});
