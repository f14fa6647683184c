// HASH, HMAC-HASH and HKDF from the Noise spec (section 4.3), with SHA-256.
//
// node:crypto rather than @noble/hashes: the data path already depends on node:crypto for the AEAD, it is
// native (a handshake runs a dozen hashes and HMACs, each cheaper in OpenSSL than in JS), and none of these
// inputs needs the constant-time care that would favour an audited JS implementation over OpenSSL.

import { createHmac, hash } from 'node:crypto';

// One-shot (crypto.hash, node 20.12+) rather than a Hash object per call: every node:crypto object is a native
// wrapper that a garbage collection must find dead and finalize, and a handshake hashed ~10 times. On a lighthouse
// answering a burst of handshakes that finalizing was most of each young-generation collection (bench/lh-load-gc.ts).
export function sha256(...parts: Uint8Array[]): Buffer {
  return hash('sha256', parts.length === 1 ? parts[0] : Buffer.concat(parts), 'buffer');
}

function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const m = createHmac('sha256', key);
  for (const p of parts) m.update(p);
  return m.digest();
}

const ONE = Uint8Array.of(0x01);
const TWO = Uint8Array.of(0x02);

/** Noise HKDF with two outputs: the only form IX uses (MixKey and Split). */
export function hkdf2(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Buffer, Buffer] {
  const tempKey = hmacSha256(chainingKey, inputKeyMaterial);
  const output1 = hmacSha256(tempKey, ONE);
  const output2 = hmacSha256(tempKey, output1, TWO);
  tempKey.fill(0);
  return [output1, output2];
}
