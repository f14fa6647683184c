// X25519 (RFC 7748), the Noise DH function, on node:crypto (OpenSSL).
//
// Measured against @noble/curves on this machine (bench/curves.ts): a shared secret costs ~50 us here (an imported
// private key, the peer's key read as JWK) against ~1000 us in noble, a fresh key pair ~65 us (~105 us with its
// public half, see generateX25519Secret) against ~320 us, and the first call after start ~1.4 ms against ~4.5 ms
// plus ~25 ms to import noble at all. A handshake does three DHs and one key pair per side, so this is most of a
// cold tunnel's crypto time. OpenSSL also allocates nothing on the JavaScript heap, where noble's BigInt
// arithmetic left megabytes of garbage behind a burst of handshakes.
//
// Private keys live in KeyObjects, which cannot be wiped from JavaScript; OpenSSL frees them when they are
// collected. Raw 32-byte private keys are accepted unclamped (nebula-cert stores them so); X25519 clamps.

import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { NoiseError } from './errors.js';

export const X25519_KEY_LEN = 32;

// DER header of a PKCS#8 X25519 private key (RFC 8410), followed by the 32 raw bytes. PKCS#8 is the one
// raw-private-key import node:crypto offers without knowing the public half first.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A private key ready for DH, with its public key. */
export interface X25519Secret {
  readonly key: KeyObject;
  readonly publicKey: Uint8Array;
}

/** A raw 32-byte public key as a KeyObject (JWK is the raw-public-key import node:crypto offers). */
function importPublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
}

function publicKeyOf(key: KeyObject): Uint8Array {
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x as string, 'base64url'));
}

/** Imports a raw 32-byte private key (~0.4 ms: do it once per static key, see `staticSecret`). */
export function importX25519Secret(privateKey: Uint8Array): X25519Secret {
  if (privateKey.length !== X25519_KEY_LEN) {
    throw new NoiseError('ENOISEKEY', `X25519 private key must be ${X25519_KEY_LEN} bytes, got ${privateKey.length}`);
  }
  const der = Buffer.concat([PKCS8_PREFIX, privateKey]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  return { key, publicKey: publicKeyOf(key) };
}

const imported = new WeakMap<Uint8Array, X25519Secret>();

/**
 * The imported form of a long-lived private key (our static key), imported on first use and kept as long as the
 * caller keeps `privateKey`. The bytes must not change afterwards.
 */
export function staticSecret(privateKey: Uint8Array): X25519Secret {
  let secret = imported.get(privateKey);
  if (secret === undefined) {
    secret = importX25519Secret(privateKey);
    imported.set(privateKey, secret);
  }
  return secret;
}

// The base point (u = 9, RFC 7748 section 4.1): X25519(k, 9) is k's public key.
const BASE_POINT = importPublicKey(Uint8Array.of(9, ...new Array<number>(31).fill(0)));

/**
 * A fresh random key pair (an ephemeral key). The public key comes from a DH with the base point, not from
 * exporting the new key: node 20 holds a key's mutex while its JWK export allocates on the JavaScript heap, and a
 * garbage collection there can finalize the key-generation job that made the key, whose destructor takes the same
 * mutex. The process then hangs for good (found under a burst of handshakes in bench/load-peers; gdb showed
 * ExportJWKEdKey -> CollectGarbage -> ~KeyGenJob -> pthread_mutex_lock). diffieHellman takes no lock. ~40 us more.
 */
export function generateX25519Secret(): X25519Secret {
  const { privateKey } = generateKeyPairSync('x25519');
  return { key: privateKey, publicKey: new Uint8Array(diffieHellman({ privateKey, publicKey: BASE_POINT })) };
}

/** X25519(secret, peer). Throws NoiseError('ENOISEKEY') for a malformed or low-order peer key (all-zero output). */
export function x25519SharedSecret(secret: X25519Secret, peerPublicKey: Uint8Array): Buffer {
  if (peerPublicKey.length !== X25519_KEY_LEN) {
    throw new NoiseError('ENOISEKEY', `X25519 public key must be ${X25519_KEY_LEN} bytes, got ${peerPublicKey.length}`);
  }
  try {
    return diffieHellman({ privateKey: secret.key, publicKey: importPublicKey(peerPublicKey) });
  } catch {
    // OpenSSL refuses to derive the all-zero secret a low-order point gives (RFC 7748 section 6.1).
    throw new NoiseError('ENOISEKEY', 'peer public key is of low order');
  }
}
