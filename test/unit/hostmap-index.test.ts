import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';

import { encodeHeader, HEADER_LEN, MessageType, parseHeader } from '../../pkg/header/header.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap, MAX_LOCAL_INDEX } from '../../pkg/hostmap/hostmap.js';

// Local indexes (HostMap.allocateIndex) are random non-zero numbers up to MAX_LOCAL_INDEX (Nebula's are 32-bit; any
// value is valid on the wire): the remote index field of every header, where 0 means "none yet" in a stage 1. What
// the bound buys is that V8 holds them as small integers (Smis) where the per-packet lookup meets them: the index a
// received header is read into and the keys of byIndex. A Smi is 32 bits signed on node's default 64-bit builds but
// 31 bits under pointer compression (and on 32-bit ones), so "fits in an int32" is not the property: %IsSmi, V8's
// own test hook, asks the running V8. On a build with 31-bit Smis this goes red, and MAX_LOCAL_INDEX must follow.

setFlagsFromString('--allow-natives-syntax');
const isSmi = new Function('x', 'return %IsSmi(x)') as (x: unknown) => boolean;

const DRAWS = 4000;

test('%IsSmi tells a small integer from a boxed number in this process', () => {
  assert.equal(isSmi(1), true);
  assert.equal(isSmi(2 ** 32), false);
  assert.equal(isSmi(0.5), false);
});

test('allocateIndex draws non-zero indexes over the whole range up to MAX_LOCAL_INDEX', () => {
  const hostmap = new HostMap();
  let topBitSet = 0;
  for (let i = 0; i < DRAWS; i++) {
    const idx = hostmap.allocateIndex();
    assert.ok(Number.isInteger(idx) && idx >= 1 && idx <= MAX_LOCAL_INDEX, `index ${idx}`);
    if (idx > MAX_LOCAL_INDEX / 2) topBitSet++;
  }
  // Half of them, give or take: 4000 fair draws stay within 1700-2300 but for odds below 1e-18.
  assert.ok(topBitSet > 1700 && topBitSet < 2300, `${topBitSet} of ${DRAWS} in the upper half`);
});

test('every local index is a small integer to V8 where packets meet it: read from a header, and as a byIndex key', () => {
  const hostmap = new HostMap();
  assert.ok(isSmi(MAX_LOCAL_INDEX), `MAX_LOCAL_INDEX ${MAX_LOCAL_INDEX} is past this V8's small integers`);
  const header = new Uint8Array(HEADER_LEN);
  for (let i = 0; i < DRAWS; i++) {
    const idx = hostmap.allocateIndex();
    // What a packet to this tunnel carries, as the receive path reads it (readHeaderInto, as parseHeader does).
    encodeHeader(header, 0, MessageType.Message, 0, idx, i);
    const read = parseHeader(header)!.remoteIndex;
    assert.equal(read, idx);
    assert.ok(isSmi(read), `index ${idx} read from a header is a boxed number`);
    hostmap.add({ vpnIp: i + 1, vpnAddrs: [i + 1], localIndex: idx, remoteIndex: i + 1 } as unknown as HostInfo);
  }
  assert.equal(hostmap.byIndex.size, DRAWS);
  for (const key of hostmap.byIndex.keys()) assert.ok(isSmi(key), `byIndex key ${key} is a boxed number`);
});
