import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHmac } from 'node:crypto';

import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

import { hkdf2 } from '../../pkg/noise/hash.js';
import { seededRandom } from './helpers/seeded-random.js';

// Noise's HKDF (spec section 4.3) run by OpenSSL's RFC 5869 HKDF (pkg/noise/hash.ts): the same 64 bytes as the
// spec's own construction from HMAC-SHA256 and as @noble/hashes' HKDF with salt = ck and empty info, for the inputs
// IX gives it (32-byte DH outputs, the empty input of Split) and for edge ones (keys of zeros and ones, an input
// longer than SHA-256's 64-byte block, one byte).

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The spec's HKDF(ck, ikm) with two outputs, HMAC by HMAC. */
function specHkdf2(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const mac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
    const m = createHmac('sha256', key);
    for (const p of parts) m.update(p);
    return m.digest();
  };
  const temp = mac(ck, ikm);
  const out1 = mac(temp, Uint8Array.of(1));
  return [out1, mac(temp, out1, Uint8Array.of(2))];
}

function cases(): [Uint8Array, Uint8Array][] {
  const rand = seededRandom(0x5eed);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const out: [Uint8Array, Uint8Array][] = [
    [new Uint8Array(32), new Uint8Array(32)],
    [new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0xff)],
    [bytes(32), new Uint8Array(0)],
    [bytes(32), bytes(1)],
    [bytes(32), bytes(65)],
    [bytes(32), bytes(200)],
  ];
  for (let i = 0; i < 50; i++) out.push([bytes(32), bytes(32)]);
  return out;
}

test('hkdf2 gives the Noise spec construction and @noble/hashes HKDF, edge inputs included', () => {
  for (const [ck, ikm] of cases()) {
    const [a, b] = hkdf2(ck, ikm);
    assert.equal(a.length, 32);
    assert.equal(b.length, 32);
    const [specA, specB] = specHkdf2(ck, ikm);
    assert.equal(hex(a), hex(specA), `output 1, ikm of ${ikm.length}`);
    assert.equal(hex(b), hex(specB), `output 2, ikm of ${ikm.length}`);
    assert.equal(hex(a) + hex(b), hex(hkdf(sha256, ikm, ck, new Uint8Array(0), 64)));
    // And noble's HMAC for the extract step, independent of node:crypto altogether.
    const temp = hmac(sha256, ck, ikm);
    assert.equal(hex(a), hex(hmac(sha256, temp, Uint8Array.of(1))));
  }
});

test('hkdf2 outputs are independent: wiping one (as MixKey wipes the temp key) leaves the other', () => {
  const [ck, ikm] = cases()[6]!;
  const [a, b] = hkdf2(ck, ikm);
  const kept = hex(a);
  b.fill(0);
  assert.equal(hex(a), kept);
  assert.equal(hex(hkdf2(ck, ikm)[1]), hex(specHkdf2(ck, ikm)[1]), 'and a later call is not affected');
});
