// Encoding of Nebula v2 certificates (ASN.1 DER, implicit context tags). The layout, as Nebula defines it:
//
//   Certificate ::= SEQUENCE {                       30 len
//     details    [0] Details,                          a0 len ...   kept raw: it is what is signed
//     curve      [1] ENUMERATED DEFAULT curve25519     81 01 cc     written only when not CURVE25519
//     publicKey  [2] OCTET STRING                      82 len key   left out in the handshake form
//     signature  [3] OCTET STRING }                    83 len sig
//
//   Details ::= SEQUENCE {                           (the [0] above)
//     name           [0] UTF8String (1..253)           80 len name
//     networks       [1] SEQUENCE OF OCTET STRING      a1 len (04 05|11 addr..bits)*   when non-empty
//     unsafeNetworks [2] SEQUENCE OF OCTET STRING      a2 len ...                      when non-empty
//     groups         [3] SEQUENCE OF UTF8String        a3 len (0c len group)*          when non-empty
//     isCA           [4] BOOLEAN DEFAULT false         84 01 ff                        when true
//     notBefore      [5] INTEGER (unix seconds)        85 len int
//     notAfter       [6] INTEGER (unix seconds)        86 len int
//     issuer         [7] OCTET STRING OPTIONAL         87 len fingerprint bytes        when not self-signed
//     ... }                                            later fields: ignored by readers, covered by the signature
//
// A network is its 4 or 16 address bytes followed by one byte of prefix length (host bits kept).
// Bytes to sign: rawDetails || curve byte || publicKey. Fingerprint: SHA-256 of rawDetails || curve byte ||
// publicKey || signature, in lowercase hex.

import { hash } from 'node:crypto';
import type { IpPrefix } from '../ip/prefix.js';
import { derInt64, derTlv } from './der.js';
import { CertError } from './errors.js';
import { Curve, type CertDetailsV2, type NebulaCertificateV2 } from './cert-v2-types.js';

export const TAG_SEQUENCE = 0x30;
export const TAG_OCTET_STRING = 0x04;
export const TAG_UTF8_STRING = 0x0c;

export const TAG_CERT_DETAILS = 0xa0;
export const TAG_CERT_CURVE = 0x81;
export const TAG_CERT_PUBLIC_KEY = 0x82;
export const TAG_CERT_SIGNATURE = 0x83;

export const TAG_DETAILS_NAME = 0x80;
export const TAG_DETAILS_NETWORKS = 0xa1;
export const TAG_DETAILS_UNSAFE_NETWORKS = 0xa2;
export const TAG_DETAILS_GROUPS = 0xa3;
export const TAG_DETAILS_IS_CA = 0x84;
export const TAG_DETAILS_NOT_BEFORE = 0x85;
export const TAG_DETAILS_NOT_AFTER = 0x86;
export const TAG_DETAILS_ISSUER = 0x87;

/** A whole v2 certificate may not exceed this many bytes (Nebula's limit). */
export const MAX_CERTIFICATE_V2_SIZE = 65536;
export const MAX_NAME_LENGTH = 253;
export const MAX_NETWORK_LENGTH = 17;

const utf8 = new TextEncoder();

function networkBytes(p: IpPrefix): Uint8Array {
  const out = new Uint8Array(p.addr.bytes.length + 1);
  out.set(p.addr.bytes, 0);
  out[p.addr.bytes.length] = p.bits;
  return out;
}

function networkList(tag: number, list: IpPrefix[]): Uint8Array[] {
  return list.length > 0 ? [derTlv(tag, ...list.map((p) => derTlv(TAG_OCTET_STRING, networkBytes(p))))] : [];
}

function issuerBytes(issuer: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(issuer)) {
    throw new CertError('ECERTENCODE', `failed to decode issuer: ${JSON.stringify(issuer)} is not hex`);
  }
  return new Uint8Array(Buffer.from(issuer, 'hex'));
}

/** The DER details element, networks in the order given (signing sorts them first, as Nebula does). */
export function marshalDetailsV2(d: CertDetailsV2): Uint8Array {
  const parts: Uint8Array[] = [derTlv(TAG_DETAILS_NAME, utf8.encode(d.name))];
  parts.push(...networkList(TAG_DETAILS_NETWORKS, d.networks));
  parts.push(...networkList(TAG_DETAILS_UNSAFE_NETWORKS, d.unsafeNetworks));
  if (d.groups.length > 0) {
    parts.push(derTlv(TAG_DETAILS_GROUPS, ...d.groups.map((g) => derTlv(TAG_UTF8_STRING, utf8.encode(g)))));
  }
  if (d.isCA) parts.push(derTlv(TAG_DETAILS_IS_CA, Uint8Array.of(0xff)));
  parts.push(derInt64(TAG_DETAILS_NOT_BEFORE, BigInt(d.notBefore)));
  parts.push(derInt64(TAG_DETAILS_NOT_AFTER, BigInt(d.notAfter)));
  if (d.issuer !== '') parts.push(derTlv(TAG_DETAILS_ISSUER, issuerBytes(d.issuer)));
  return derTlv(TAG_CERT_DETAILS, ...parts);
}

/** rawDetails || curve || publicKey: what the CA signs. */
export function bytesToSignV2(rawDetails: Uint8Array, curve: number, publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(rawDetails.length + 1 + publicKey.length);
  out.set(rawDetails, 0);
  out[rawDetails.length] = curve;
  out.set(publicKey, rawDetails.length + 1);
  return out;
}

/** Lowercase hex SHA-256 over rawDetails || curve || publicKey || signature. */
export function fingerprintV2(c: NebulaCertificateV2): string {
  if (c.rawDetails.length === 0) throw new CertError('ECERTENCODE', 'certificate did not contain details');
  // One-shot, as v1's fingerprint (signature.ts): no Hash object per handshake.
  return hash('sha256', Buffer.concat([bytesToSignV2(c.rawDetails, c.curve, c.publicKey), c.signature]), 'hex');
}

/** The full certificate, as written to PEM files. */
export function marshalCertificateV2(c: NebulaCertificateV2): Uint8Array {
  if (c.rawDetails.length === 0) throw new CertError('ECERTENCODE', 'empty rawDetails not allowed');
  const parts: Uint8Array[] = [c.rawDetails];
  if (c.curve !== Curve.CURVE25519) parts.push(derTlv(TAG_CERT_CURVE, Uint8Array.of(c.curve)));
  parts.push(derTlv(TAG_CERT_PUBLIC_KEY, c.publicKey));
  parts.push(derTlv(TAG_CERT_SIGNATURE, c.signature));
  return derTlv(TAG_SEQUENCE, ...parts);
}

/**
 * The handshake form: no curve and no public key, which the handshake carries elsewhere (the Noise static key and
 * the header's curve). For the v2 handshake, which is not implemented yet (docs/certificates-v2.md).
 */
export function marshalCertificateV2ForHandshake(c: NebulaCertificateV2): Uint8Array {
  if (c.rawDetails.length === 0) throw new CertError('ECERTENCODE', 'empty rawDetails not allowed');
  return derTlv(TAG_SEQUENCE, c.rawDetails, derTlv(TAG_CERT_SIGNATURE, c.signature));
}
