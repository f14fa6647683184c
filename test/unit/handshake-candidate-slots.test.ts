import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  CANDIDATE_HOLD_MS,
  chooseCandidateSlot,
  MAX_CANDIDATES_PER_VPN_IP,
  type CandidateSource,
} from '../../pkg/handshake/candidate-slots.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';

// The rules for which stage 1s get a candidate tunnel, on stand-in candidates (only createdAt and a source matter).

interface Fake {
  createdAt: number;
  source: CandidateSource;
}

function candidate(createdAt: number, key: string, expected = false): HostInfo {
  return { createdAt, source: { key, expected } } as Fake as unknown as HostInfo;
}

const sourceOf = (c: HostInfo): CandidateSource => (c as unknown as Fake).source;
const NOW = 100_000;

test('a source holds one candidate per overlay IP: its next stage 1 waits CANDIDATE_HOLD_MS, then replaces it', () => {
  const mine = candidate(NOW - CANDIDATE_HOLD_MS + 1, 'f');
  assert.equal(chooseCandidateSlot([mine], { key: 'f', expected: false }, sourceOf, NOW), 'held');
  assert.equal(chooseCandidateSlot([mine], { key: 'f', expected: false }, sourceOf, NOW + 1), mine);
  // Another source is answered beside it at once.
  assert.equal(chooseCandidateSlot([mine], { key: 'peer', expected: false }, sourceOf, NOW), null);
});

test('with every place taken by young candidates, an expected source takes the oldest unexpected one', () => {
  const held = [
    candidate(NOW - 30, 'known', true),
    candidate(NOW - 20, 'x1'),
    candidate(NOW - 10, 'x2'),
    candidate(NOW, 'x3'),
  ];
  assert.equal(held.length, MAX_CANDIDATES_PER_VPN_IP);
  assert.equal(chooseCandidateSlot(held, { key: 'peer', expected: true }, sourceOf, NOW), held[1]);
  // An unexpected source finds no place: none is older than CANDIDATE_HOLD_MS.
  assert.equal(chooseCandidateSlot(held, { key: 'y', expected: false }, sourceOf, NOW), 'held');
  // Once one is, it goes, whichever source it came from: long unproven, it is not a live peer's.
  const later = NOW - 30 + CANDIDATE_HOLD_MS;
  assert.equal(chooseCandidateSlot(held, { key: 'y', expected: false }, sourceOf, later), held[0]);
});

test('young candidates from expected sources are never pushed out', () => {
  const held = ['a', 'b', 'c', 'd'].map((k, i) => candidate(NOW - i, k, true));
  assert.equal(chooseCandidateSlot(held, { key: 'y', expected: false }, sourceOf, NOW), 'held');
  assert.equal(chooseCandidateSlot(held, { key: 'e', expected: true }, sourceOf, NOW), 'held');
});
