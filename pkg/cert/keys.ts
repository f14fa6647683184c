// Key material: typed PEM loaders with the size checks Nebula applies (docs/wire-format.md, PEM), key generation in the
// layouts nebula-cert writes, and the key/certificate pairing check done before signing and at daemon start.

import { randomBytes } from 'node:crypto';
import { staticSecret } from '../noise/x25519.js';
import { bytesEqual } from './constant-time.js';
import { ed25519PublicKey } from './ed25519.js';
import { CertError } from './errors.js';
import { decodePemBlocks } from './pem.js';
import type { NebulaCertificate } from './types.js';

export const X25519_PRIVATE_KEY_BANNER = 'NEBULA X25519 PRIVATE KEY';
export const X25519_PUBLIC_KEY_BANNER = 'NEBULA X25519 PUBLIC KEY';
export const ED25519_PRIVATE_KEY_BANNER = 'NEBULA ED25519 PRIVATE KEY';
export const ED25519_PUBLIC_KEY_BANNER = 'NEBULA ED25519 PUBLIC KEY';

export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

// Like Go's loaders, only the first block counts; its banner and size must be right.
function parseKeyPem(text: string, banner: string, size: number, what: string): Uint8Array {
  const [block] = decodePemBlocks(text);
  if (block === undefined) throw new CertError('ECERTPEM', `no PEM block found, expected ${banner}`);
  if (block.banner !== banner) {
    throw new CertError('ECERTPEM', `PEM block is "${block.banner}", expected "${banner}"`);
  }
  if (block.bytes.length !== size) {
    throw new CertError('ECERTKEY', `key was not ${size} bytes, is invalid ${what}`);
  }
  return block.bytes;
}

export function parseX25519PrivateKeyPem(text: string): Uint8Array {
  return parseKeyPem(text, X25519_PRIVATE_KEY_BANNER, 32, 'X25519 private key');
}

export function parseX25519PublicKeyPem(text: string): Uint8Array {
  return parseKeyPem(text, X25519_PUBLIC_KEY_BANNER, 32, 'X25519 public key');
}

/** 64 bytes: seed || public key (Go's ed25519.PrivateKey layout). */
export function parseEd25519PrivateKeyPem(text: string): Uint8Array {
  return parseKeyPem(text, ED25519_PRIVATE_KEY_BANNER, 64, 'ed25519 private key');
}

export function parseEd25519PublicKeyPem(text: string): Uint8Array {
  return parseKeyPem(text, ED25519_PUBLIC_KEY_BANNER, 32, 'ed25519 public key');
}

/**
 * X25519(priv, basepoint); the private key is 32 raw bytes and is clamped here, not when stored. The bytes must not
 * change afterwards: the import is kept for them (staticSecret), because the daemon checks its own key here at
 * start and every handshake then uses the same key (one import, ~0.5 ms, off a cold start).
 */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== 32) {
    throw new CertError('ECERTKEY', `X25519 private key must be 32 bytes, got ${privateKey.length}`);
  }
  return staticSecret(privateKey).publicKey.slice(); // a copy: the cached one must not change
}

/** A host key pair: 32 random bytes, stored unclamped like nebula-cert does. */
export function generateX25519KeyPair(): KeyPair {
  const privateKey = new Uint8Array(randomBytes(32));
  return { publicKey: x25519PublicKey(privateKey), privateKey };
}

/** A CA key pair; the private key is 64 bytes, seed || public key. */
export function generateEd25519KeyPair(): KeyPair {
  const seed = new Uint8Array(randomBytes(32));
  const publicKey = ed25519PublicKey(seed);
  const privateKey = new Uint8Array(64);
  privateKey.set(seed, 0);
  privateKey.set(publicKey, 32);
  return { publicKey, privateKey };
}

/**
 * True when `privateKey` belongs to `cert`: for a CA, a 64-byte Ed25519 key whose seed and public half both give
 * the cert's key; for a host, a 32-byte X25519 key whose public key is the cert's. Compared in constant time.
 */
export function certMatchesPrivateKey(cert: NebulaCertificate, privateKey: Uint8Array): boolean {
  const certKey = cert.details.publicKey;
  if (cert.details.isCA) {
    if (privateKey.length !== 64) return false;
    const derived = ed25519PublicKey(privateKey.subarray(0, 32));
    const stored = privateKey.subarray(32);
    const seedMatches = bytesEqual(derived, certKey);
    const storedMatches = bytesEqual(stored, certKey);
    return seedMatches && storedMatches;
  }
  if (privateKey.length !== 32) return false;
  return bytesEqual(x25519PublicKey(privateKey), certKey);
}
