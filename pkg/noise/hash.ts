// HASH, HMAC-HASH and HKDF from the Noise spec (section 4.3), with SHA-256.
//
// node:crypto rather than @noble/hashes: the data path already depends on node:crypto for the AEAD, it is
// native (a handshake runs a dozen hashes and HMACs, each cheaper in OpenSSL than in JS), and none of these
// inputs needs the constant-time care that would favour an audited JS implementation over OpenSSL.

import { hash, hkdfSync } from 'node:crypto';
import { HASHLEN } from './constants.js';

// One-shot (crypto.hash, node 20.12+) rather than a Hash object per call: every node:crypto object is a native
// wrapper that a garbage collection must find dead and finalize, and a handshake hashed ~10 times. On a lighthouse
// answering a burst of handshakes that finalizing was most of each young-generation collection (bench/lh-load-gc.ts).
export function sha256(...parts: Uint8Array[]): Buffer {
  return hash('sha256', parts.length === 1 ? parts[0] : Buffer.concat(parts), 'buffer');
}

const NO_INFO = new Uint8Array(0);

/**
 * Noise HKDF with two outputs, the only form IX uses (MixKey and Split). Noise's HKDF(ck, ikm) is RFC 5869
 * HKDF-SHA256 with salt = ck and empty info (extract: temp = HMAC(ck, ikm); expand: T1 = HMAC(temp, 0x01),
 * T2 = HMAC(temp, T1 || 0x02)), so OpenSSL's HKDF does it in one call: no temp key in the JavaScript heap, and one
 * native job instead of three Hmac objects for the young-generation collection to finalize. bench/lh-load-gc.ts,
 * 3000 responder handshakes, 8 alternating rounds (load 7-8.5): GC per handshake median 75 -> 62 us, CPU 340 ->
 * 336 us. The two outputs share one 64-byte buffer; the caller wipes each.
 */
export function hkdf2(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', inputKeyMaterial, chainingKey, NO_INFO, 2 * HASHLEN));
  return [out.subarray(0, HASHLEN), out.subarray(HASHLEN)];
}
