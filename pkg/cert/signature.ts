// Ed25519 signatures over the canonical details and the SHA-256 fingerprint of the whole canonical
// certificate (docs/wire-format.md, "Bytes to sign" and "Fingerprint"), which is also how a child names its issuer.

import { hash } from 'node:crypto';
import { marshalCertificate, marshalDetails } from './cert-marshal.js';
import { CertError } from './errors.js';
import { bytesEqual } from './constant-time.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js';
import type { CertDetails, NebulaCertificate } from './types.js';

/**
 * Lowercase hex SHA-256 of the canonical marshal: pool keys, `Issuer`, blocklists and `ca_sha` all use it.
 * node:crypto rather than @noble/hashes, as in pkg/noise/hash.ts: every handshake takes the peer's fingerprint,
 * and noble's first call costs a cold start ~0.3 ms more. One-shot, as there: no Hash object for the garbage
 * collector to finalize per handshake (1.7 -> 0.6 us for a 300-byte certificate).
 */
export function fingerprint(c: NebulaCertificate): string {
  return hash('sha256', marshalCertificate(c), 'hex');
}

/**
 * Signs `details` with a CA's 64-byte private key (Go layout: seed || public key). The public half must match
 * the seed: Go hashes the stored public half into the signature, so a mismatched key would sign garbage.
 */
export function signCertificate(details: CertDetails, caPrivateKey64: Uint8Array): NebulaCertificate {
  if (caPrivateKey64.length !== 64) {
    throw new CertError('ECERTKEY', `ed25519 private key must be 64 bytes, got ${caPrivateKey64.length}`);
  }
  const seed = caPrivateKey64.subarray(0, 32);
  if (!bytesEqual(ed25519PublicKey(seed), caPrivateKey64.subarray(32))) {
    throw new CertError('ECERTKEY', 'ed25519 private key is inconsistent: its public half does not match its seed');
  }
  const signature = ed25519Sign(marshalDetails(details), seed);
  return { details: { ...details }, signature };
}

/** True when `c`'s signature verifies over its canonical details with `ed25519PublicKey`. Never throws. */
export function checkSignature(c: NebulaCertificate, caPublicKey: Uint8Array): boolean {
  return ed25519Verify(c.signature, marshalDetails(c.details), caPublicKey);
}
