// Fixed-seed signing keys for v2 certificate tests: the same label always gives the same key, so Ed25519
// certificates re-sign byte for byte.

import { createHash } from 'node:crypto';
import { Curve, type SigningKey } from '../../../pkg/cert/index.js';
import { ed25519PublicKey } from '../../../pkg/cert/ed25519.js';

const seed = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());

/** Go's 64-byte Ed25519 private key (seed || public key) from a label. */
export function ed25519Key(label: string): SigningKey {
  const s = seed(label);
  const privateKey = new Uint8Array(64);
  privateKey.set(s, 0);
  privateKey.set(ed25519PublicKey(s), 32);
  return { curve: Curve.CURVE25519, privateKey };
}

/** A 32-byte P-256 private scalar from a label (a SHA-256 output is below the group order but for ~2^-32). */
export function p256Key(label: string): SigningKey {
  return { curve: Curve.P256, privateKey: seed(label) };
}
