// Signatures for both curves a v2 certificate may name, on node:crypto (no hand-written cryptography):
// Ed25519 for CURVE25519 (the CA key is Go's 64-byte seed || public key), ECDSA P-256 over SHA-256 with an ASN.1
// signature for P256 (the CA key is the 32-byte scalar, the public key the 65-byte uncompressed point).
// P-256 signatures are written in low-S form, as Nebula signs them since 1.10.3; both forms verify.

import { createECDH, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { bytesEqual } from './constant-time.js';
import { DerError, DerReader, derTlv } from './der.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js';
import { CertError } from './errors.js';
import { Curve } from './cert-v2-types.js';

export interface SigningKey {
  curve: number;
  /** CURVE25519: 64 bytes (seed || public key); P256: the 32-byte private scalar. */
  privateKey: Uint8Array;
}

// The order of the P-256 group (FIPS 186-4, D.1.2.3): a public constant, used only to fold S into its low half.
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/** The 65-byte uncompressed public point of a 32-byte P-256 private scalar. */
export function p256PublicKey(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== 32) throw new CertError('ECERTKEY', 'invalid private key');
  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(privateKey);
  } catch {
    throw new CertError('ECERTKEY', 'invalid private key');
  }
  return new Uint8Array(ecdh.getPublicKey());
}

function p256PrivateKeyObject(privateKey: Uint8Array): KeyObject {
  const pub = p256PublicKey(privateKey);
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: b64url(privateKey),
    x: b64url(pub.subarray(1, 33)),
    y: b64url(pub.subarray(33)),
  };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

function p256PublicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) throw new CertError('ECERTKEY', 'invalid public key');
  const jwk = { kty: 'EC', crv: 'P-256', x: b64url(publicKey.subarray(1, 33)), y: b64url(publicKey.subarray(33)) };
  return createPublicKey({ key: jwk, format: 'jwk' });
}

function unsignedInteger(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = '00' + hex;
  return derTlv(0x02, new Uint8Array(Buffer.from(hex, 'hex')));
}

function readRs(signature: Uint8Array): { r: bigint; s: bigint } {
  try {
    const seq = new DerReader(new DerReader(signature).read(0x30));
    const r = BigInt('0x' + (Buffer.from(seq.read(0x02)).toString('hex') || '0'));
    const s = BigInt('0x' + (Buffer.from(seq.read(0x02)).toString('hex') || '0'));
    return { r, s };
  } catch (err) {
    if (err instanceof DerError) throw new CertError('ECERTKEY', 'malformed ECDSA signature');
    throw err;
  }
}

/** An ASN.1 ECDSA signature with S folded into the low half of the group order. */
export function p256LowS(signature: Uint8Array): Uint8Array {
  const { r, s } = readRs(signature);
  if (s <= P256_ORDER >> 1n) return signature;
  return derTlv(0x30, unsignedInteger(r), unsignedInteger(P256_ORDER - s));
}

/**
 * The other valid form of an ECDSA signature (S replaced by n - S). Both verify, and each gives the certificate a
 * different fingerprint, so a blocklist must be checked against both (as Nebula does).
 */
export function p256OtherS(signature: Uint8Array): Uint8Array {
  const { r, s } = readRs(signature);
  return derTlv(0x30, unsignedInteger(r), unsignedInteger(P256_ORDER - s));
}

/** The public key belonging to a signing key, checked for consistency. */
export function signingPublicKey(key: SigningKey): Uint8Array {
  if (key.curve === Curve.CURVE25519) {
    if (key.privateKey.length !== 64) throw new CertError('ECERTKEY', 'invalid private key');
    const pub = ed25519PublicKey(key.privateKey.subarray(0, 32));
    if (!bytesEqual(pub, key.privateKey.subarray(32))) {
      throw new CertError('ECERTKEY', 'ed25519 private key is inconsistent: its public half does not match its seed');
    }
    return pub;
  }
  if (key.curve === Curve.P256) return p256PublicKey(key.privateKey);
  throw new CertError('ECERTCURVE', `invalid curve: ${key.curve}`);
}

export function signWithKey(key: SigningKey, message: Uint8Array): Uint8Array {
  signingPublicKey(key); // refuses an inconsistent or malformed key before anything is signed
  if (key.curve === Curve.CURVE25519) return ed25519Sign(message, key.privateKey.subarray(0, 32));
  const der = sign('sha256', message, { key: p256PrivateKeyObject(key.privateKey), dsaEncoding: 'der' });
  return p256LowS(new Uint8Array(der));
}

/** True when `signature` is `publicKey`'s over `message` on `curve`. Never throws. */
export function verifyWithKey(
  curve: number,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (curve === Curve.CURVE25519) return ed25519Verify(signature, message, publicKey);
  if (curve !== Curve.P256) return false;
  try {
    return verify('sha256', message, { key: p256PublicKeyObject(publicKey), dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
