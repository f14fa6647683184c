// Arbitrary bytes arrive in handshakes: decoding must fail only with CertError, and whatever decodes must
// re-encode to a canonical form that decodes to the same record.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { marshalCertificate } from '../../pkg/cert/cert-marshal.js';
import { unmarshalCertificate, unmarshalHandshakeCertificate } from '../../pkg/cert/cert-unmarshal.js';
import { parseCertificatesPem } from '../../pkg/cert/cert-pem.js';
import { CertError } from '../../pkg/cert/errors.js';
import { decodePemBlocks } from '../../pkg/cert/pem.js';
import { fixture } from '../fixtures/cert/make-certs.js';

/** xorshift32: deterministic, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function checkDecode(bytes: Uint8Array, label: string): 'ok' | 'refused' {
  for (const decode of [
    () => unmarshalCertificate(bytes),
    () => unmarshalHandshakeCertificate(bytes, new Uint8Array(32).fill(5)),
  ]) {
    let cert;
    try {
      cert = decode();
    } catch (e) {
      assert.ok(e instanceof CertError, `${label}: threw ${String(e)}`);
      continue;
    }
    const again = unmarshalCertificate(marshalCertificate(cert));
    assert.deepEqual(again, cert, `${label}: re-marshal is not stable`);
  }
  try {
    unmarshalCertificate(bytes);
    return 'ok';
  } catch {
    return 'refused';
  }
}

const SEEDS = [...['host1', 'host3', 'ca-constrained'].map((n) => decodePemBlocks(fixture(`${n}.crt`))[0].bytes)];

describe('decoding arbitrary bytes', () => {
  it('random byte strings fail only with CertError', () => {
    const rand = rng(0x5eed);
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(rand() * 200);
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(rand() * 256);
      checkDecode(bytes, `random #${i}`);
    }
  });

  it('mutated real certificates (flips, cuts, splices, inserted tags) fail only with CertError', () => {
    const rand = rng(0xc0ffee);
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const seed = SEEDS[i % SEEDS.length];
      let bytes = seed.slice();
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * bytes.length);
        switch (Math.floor(rand() * 4)) {
          case 0:
            bytes[at] ^= 1 << Math.floor(rand() * 8);
            break;
          case 1:
            bytes = bytes.slice(0, at);
            break;
          case 2:
            bytes = new Uint8Array([...bytes.slice(0, at), Math.floor(rand() * 256), ...bytes.slice(at)]);
            break;
          default:
            bytes[at] = [0x0a, 0x12, 0x1a, 0x22, 0x28, 0x3a, 0x40, 0x4a, 0x0b, 0x0c, 0xff][Math.floor(rand() * 11)];
        }
      }
      if (checkDecode(bytes, `mutation #${i}`) === 'ok') decoded++;
    }
    // Many single-bit flips land in key or signature bytes and still decode: the mutations reach deep.
    assert.ok(decoded > 1000, `only ${decoded} mutated inputs decoded`);
  });

  it('random PEM text fails only with CertError', () => {
    const rand = rng(0xbeef);
    const base = fixture('host1.crt');
    for (let i = 0; i < 5_000; i++) {
      const chars = base.split('');
      const at = Math.floor(rand() * chars.length);
      chars[at] = String.fromCharCode(Math.floor(rand() * 128));
      try {
        parseCertificatesPem(chars.join(''));
      } catch (e) {
        assert.ok(e instanceof CertError, `pem #${i}: threw ${String(e)}`);
      }
    }
  });
});
