// Key files of either curve, as nebula-cert 1.10 writes them: Curve25519 (Ed25519 CA keys, X25519 host keys, the
// banners of keys.ts) and P-256 (the CA's ECDSA key and the host's ECDH key, 32-byte private scalars and 65-byte
// uncompressed public points). A loader reads the curve from the banner, so `sign` follows its CA's curve.

import { createECDH } from 'node:crypto';
import { Curve } from './cert-v2-types.js';
import { CertError } from './errors.js';
import {
  ED25519_PRIVATE_KEY_BANNER,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  parseEd25519PrivateKeyPem,
  parseX25519PublicKeyPem,
  X25519_PRIVATE_KEY_BANNER,
  X25519_PUBLIC_KEY_BANNER,
  type KeyPair,
} from './keys.js';
import { decodePemBlocks } from './pem.js';
import type { SigningKey } from './signing-keys.js';

export const ECDSA_P256_PRIVATE_KEY_BANNER = 'NEBULA ECDSA P256 PRIVATE KEY';
export const P256_PRIVATE_KEY_BANNER = 'NEBULA P256 PRIVATE KEY';
export const P256_PUBLIC_KEY_BANNER = 'NEBULA P256 PUBLIC KEY';

const P256_PRIVATE_LEN = 32;
const P256_PUBLIC_LEN = 65;

/** A P-256 key pair (ECDH and ECDSA keys have the same form). */
export function generateP256KeyPair(): KeyPair {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const privateKey = new Uint8Array(P256_PRIVATE_LEN);
  const raw = ecdh.getPrivateKey();
  privateKey.set(raw, P256_PRIVATE_LEN - raw.length); // OpenSSL drops leading zero bytes
  return { privateKey, publicKey: new Uint8Array(ecdh.getPublicKey()) };
}

/** A CA's signing key pair of `curve`, and the banner its private key is written under. */
export function generateSigningKeyPair(curve: number): KeyPair & { privateBanner: string } {
  if (curve === Curve.P256) return { ...generateP256KeyPair(), privateBanner: ECDSA_P256_PRIVATE_KEY_BANNER };
  return { ...generateEd25519KeyPair(), privateBanner: ED25519_PRIVATE_KEY_BANNER };
}

/** A host's key-agreement key pair of `curve`, with the banners of its private and public halves. */
export function generateHostKeyPair(curve: number): KeyPair & { privateBanner: string; publicBanner: string } {
  if (curve === Curve.P256) {
    return { ...generateP256KeyPair(), privateBanner: P256_PRIVATE_KEY_BANNER, publicBanner: P256_PUBLIC_KEY_BANNER };
  }
  return {
    ...generateX25519KeyPair(),
    privateBanner: X25519_PRIVATE_KEY_BANNER,
    publicBanner: X25519_PUBLIC_KEY_BANNER,
  };
}

function firstBlock(text: string): { banner: string; bytes: Uint8Array } | undefined {
  return decodePemBlocks(text)[0];
}

/** A CA key file of either curve. Anything but a P-256 key is judged (and refused) as an Ed25519 key file. */
export function parseSigningPrivateKeyPem(text: string): SigningKey {
  const block = firstBlock(text);
  if (block?.banner === ECDSA_P256_PRIVATE_KEY_BANNER) {
    if (block.bytes.length !== P256_PRIVATE_LEN) {
      throw new CertError('ECERTKEY', 'key was not 32 bytes, is invalid ECDSA P256 private key');
    }
    return { curve: Curve.P256, privateKey: block.bytes };
  }
  return { curve: Curve.CURVE25519, privateKey: parseEd25519PrivateKeyPem(text) };
}

/** A host public key file (`sign -in-pub`) of either curve. Anything but a P-256 key is judged as X25519. */
export function parseHostPublicKeyPem(text: string): { curve: number; publicKey: Uint8Array } {
  const block = firstBlock(text);
  if (block?.banner === P256_PUBLIC_KEY_BANNER) {
    if (block.bytes.length !== P256_PUBLIC_LEN) {
      throw new CertError('ECERTKEY', 'key was not 65 bytes, is invalid P256 public key');
    }
    return { curve: Curve.P256, publicKey: block.bytes };
  }
  return { curve: Curve.CURVE25519, publicKey: parseX25519PublicKeyPem(text) };
}

/** `-curve`: the spellings nebula-cert accepts. */
export function parseCurveName(text: string): number {
  if (['25519', 'X25519', 'Curve25519', 'CURVE25519'].includes(text)) return Curve.CURVE25519;
  if (text === 'P256') return Curve.P256;
  throw new CertError('ECERTCURVE', `invalid curve: ${text}`);
}
