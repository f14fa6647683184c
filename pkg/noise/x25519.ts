// X25519 (RFC 7748), the Noise DH function, on node:crypto (OpenSSL).
//
// Measured against @noble/curves on this machine (bench/curves.ts): a shared secret costs ~50 us here (an imported
// private key, the peer's key read as JWK) against ~1000 us in noble, a fresh key pair with its public half ~47 us
// (see generateX25519Secret) against ~320 us, and the first call after start ~1.4 ms against ~4.5 ms
// plus ~25 ms to import noble at all. A handshake does three DHs and one key pair per side, so this is most of a
// cold tunnel's crypto time. OpenSSL also allocates nothing on the JavaScript heap, where noble's BigInt
// arithmetic left megabytes of garbage behind a burst of handshakes.
//
// Private keys live in KeyObjects, which cannot be wiped from JavaScript; OpenSSL frees them when they are
// collected. Raw 32-byte private keys are accepted unclamped (nebula-cert stores them so); X25519 clamps.

import { createPrivateKey, createPublicKey, diffieHellman, randomBytes, type KeyObject } from 'node:crypto';
import { NoiseError } from './errors.js';
import { KeyObjectCache } from './key-object-cache.js';

export const X25519_KEY_LEN = 32;

// A JWK private key needs an `x`; OpenSSL computes the real one from `d` and ignores this (node 20 only checks that
// it is there). JWK is the cheapest raw-private-key import node:crypto offers: ~45 us, PKCS#8 DER ~370 us.
const UNUSED_X = Buffer.alloc(X25519_KEY_LEN).toString('base64url');

/** A private key ready for DH, with its public key. */
export interface X25519Secret {
  readonly key: KeyObject;
  readonly publicKey: Uint8Array;
}

/** A raw 32-byte public key as a KeyObject (JWK is the raw-public-key import node:crypto offers). */
function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
}

// The public half OpenSSL derived at import, through a public KeyObject on the same key: the private key's own JWK
// export would carry it too, with one KeyObject less, but also `d`, one more copy of the private key as a string
// the JavaScript heap keeps unwiped until collected (~2 us dearer; bench/handshake-cost.ts).
function publicKeyOf(privateKey: KeyObject): Uint8Array {
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x as string, 'base64url'));
}

/**
 * Imports a raw 32-byte private key. The base64url text of it stays in the JavaScript heap until collected, as the
 * KeyObject stays unwiped in OpenSSL's.
 */
export function importX25519Secret(privateKey: Uint8Array): X25519Secret {
  if (privateKey.length !== X25519_KEY_LEN) {
    throw new NoiseError('ENOISEKEY', `X25519 private key must be ${X25519_KEY_LEN} bytes, got ${privateKey.length}`);
  }
  const d = Buffer.from(privateKey.buffer, privateKey.byteOffset, privateKey.length).toString('base64url');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: UNUSED_X }, format: 'jwk' });
  return { key, publicKey: publicKeyOf(key) };
}

/** staticSecret's imports; exported for the test that checks it keeps no copy of a private key (curves.test). */
export const importedSecrets = new KeyObjectCache(importX25519Secret, true);

/**
 * The imported form of a long-lived private key (our static key), imported on first use and kept as long as the
 * caller keeps `privateKey`; imported again if its bytes changed (see KeyObjectCache).
 */
export function staticSecret(privateKey: Uint8Array): X25519Secret {
  return importedSecrets.get(privateKey);
}

/**
 * A fresh random key pair (an ephemeral key): 32 random bytes imported (importX25519Secret), ~47 us against ~81 us
 * for generateKeyPairSync plus the DH with the base point that found its public half before: one X25519 less per
 * handshake side (bench/curves.ts). Not generateKeyPairSync plus an export: node 20 holds a key's mutex while its
 * JWK export allocates on the JavaScript heap, and a garbage collection there can finalize the key-generation job
 * that made the key, whose destructor takes the same mutex; the process then hangs for good (found under a burst of
 * handshakes in bench/load-peers; gdb showed ExportJWKEdKey -> CollectGarbage -> ~KeyGenJob ->
 * pthread_mutex_lock). An imported key comes from no such job.
 */
export function generateX25519Secret(): X25519Secret {
  const d = randomBytes(X25519_KEY_LEN);
  const secret = importX25519Secret(d);
  d.fill(0);
  return secret;
}

// A handshake side meets each remote key twice (the peer's ephemeral key in ee and in es or se): imported once.
const importedPublic = new KeyObjectCache(importPublicKey, false);

/** X25519(secret, peer), `peerPublicKey` imported once per array and bytes (see KeyObjectCache). Throws NoiseError('ENOISEKEY') for a malformed or low-order peer key (all-zero output). */
export function x25519SharedSecret(secret: X25519Secret, peerPublicKey: Uint8Array): Buffer {
  if (peerPublicKey.length !== X25519_KEY_LEN) {
    throw new NoiseError('ENOISEKEY', `X25519 public key must be ${X25519_KEY_LEN} bytes, got ${peerPublicKey.length}`);
  }
  try {
    return diffieHellman({ privateKey: secret.key, publicKey: importedPublic.get(peerPublicKey) });
  } catch {
    // OpenSSL refuses to derive the all-zero secret a low-order point gives (RFC 7748 section 6.1).
    throw new NoiseError('ENOISEKEY', 'peer public key is of low order');
  }
}
