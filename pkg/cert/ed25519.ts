// Ed25519 (RFC 8032) for certificate signatures, on node:crypto (OpenSSL).
//
// Measured against @noble/curves on this machine (bench/curves.ts): verifying a certificate costs ~150 us here
// against ~1200 us in noble, and the first verification after start ~0.9 ms against ~11 ms (plus ~25 ms to import
// noble). Every handshake verifies the peer's certificate, so this is on the cold-tunnel path. Signatures are
// deterministic: the golden certificates from nebula-cert re-sign byte for byte (test/unit/cert-*.test.ts).
//
// Verification is strict RFC 8032 (a non-canonical S is refused), like Go's crypto/ed25519.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { KeyObjectCache } from '../noise/key-object-cache.js';
import { CertError } from './errors.js';

const SEED_LEN = 32;
const PUBLIC_KEY_LEN = 32;
const SIGNATURE_LEN = 64;
// DER header of a PKCS#8 Ed25519 private key (RFC 8410), followed by the 32-byte seed.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function importSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== SEED_LEN)
    throw new CertError('ECERTKEY', `ed25519 seed must be ${SEED_LEN} bytes, got ${seed.length}`);
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  return key;
}

function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
}

/** The public key of a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const { x } = createPublicKey(importSeed(seed)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x as string, 'base64url'));
}

export function ed25519Sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, importSeed(seed)));
}

// A CA's key verifies every certificate a handshake presents (a lighthouse: one per connecting node), and the CA
// pool hands over the same array each time: imported once per array and bytes instead of once per verification
// (~7-10 us of a ~120 us verification; KeyObjectCache).
const importedPublic = new KeyObjectCache(importPublicKey, false);

/** True when `signature` is `publicKey`'s over `message`. Never throws: malformed keys and signatures are false. */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LEN || signature.length !== SIGNATURE_LEN) return false;
  try {
    return verify(null, message, importedPublic.get(publicKey), signature);
  } catch {
    return false;
  }
}
