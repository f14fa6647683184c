// An AEAD independent of ours, for the tests that check the addon's and node:crypto's seals against it:
// @noble/ciphers with the nonce laid out as Nebula does (docs/wire-format.md): four zero bytes, then the packet
// counter as a uint64, big-endian for AES-256-GCM and little-endian for ChaCha20-Poly1305.

import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

import type { AeadCipher } from '../../../pkg/noise/aead.js';

/** Counters where a nonce layout goes wrong first: zero, the 32-bit boundary, the largest we send (2^53-1). */
export const EDGE_COUNTERS = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];

export function nonceOf(cipher: AeadCipher, counter: number): Uint8Array {
  const n = new Uint8Array(12);
  const v = new DataView(n.buffer);
  const high = Math.floor(counter / 2 ** 32);
  if (cipher === 'aes') {
    v.setUint32(4, high);
    v.setUint32(8, counter >>> 0);
  } else {
    v.setUint32(4, counter >>> 0, true);
    v.setUint32(8, high, true);
  }
  return n;
}

/** The cipher for one packet: `.encrypt(plaintext)` gives body ‖ tag, `.decrypt(sealed)` throws on a bad tag. */
export function nobleAead(cipher: AeadCipher, key: Uint8Array, counter: number, ad: Uint8Array) {
  const nonce = nonceOf(cipher, counter);
  return cipher === 'aes' ? gcm(key, nonce, ad) : chacha20poly1305(key, nonce, ad);
}
