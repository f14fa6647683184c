// The decoded form of a Nebula v2 (ASN.1 DER) certificate; the wire layout is drawn in cert-v2-marshal.ts and
// described in docs/certificates-v2.md. Times are whole Unix seconds as on the wire.

import type { IpPrefix } from '../ip/prefix.js';

/** The curve of a certificate's public key and signature. Other values decode (Nebula's do) but never verify. */
export const Curve = { CURVE25519: 0, P256: 1 } as const;
export type Curve = number;

/** The names Nebula prints for a curve (its protobuf enum names; an unknown value prints as its number). */
export function curveName(curve: Curve): string {
  if (curve === Curve.CURVE25519) return 'CURVE25519';
  if (curve === Curve.P256) return 'P256';
  return String(curve);
}

export interface CertDetailsV2 {
  /** 1..253 bytes of UTF-8 on the wire. */
  name: string;
  /** The host's overlay addresses with their network sizes (host bits kept); for a CA, what it may issue. Sorted. */
  networks: IpPrefix[];
  /** Networks the host may route for; for a CA, what it may issue. Sorted. */
  unsafeNetworks: IpPrefix[];
  groups: string[];
  isCA: boolean;
  /** Unix seconds. */
  notBefore: number;
  /** Unix seconds. */
  notAfter: number;
  /** Lowercase hex fingerprint of the signing CA; '' when self-signed. */
  issuer: string;
}

export interface NebulaCertificateV2 {
  version: 2;
  details: CertDetailsV2;
  /**
   * The details element exactly as it was signed (tag and length included). Signature and fingerprint are taken
   * over these bytes, never over a re-encoding, so fields a newer Nebula adds still verify here.
   */
  rawDetails: Uint8Array;
  curve: Curve;
  /** Ed25519 (CA) or X25519 (host) key for CURVE25519; 65-byte uncompressed P-256 point for P256. */
  publicKey: Uint8Array;
  /** Ed25519 signature, or an ASN.1 ECDSA signature over SHA-256 for P256. */
  signature: Uint8Array;
}

/** What a v2 certificate is signed from: its details plus key and curve (Nebula's TBSCertificate). */
export interface CertificateV2ToSign {
  details: CertDetailsV2;
  curve: Curve;
  publicKey: Uint8Array;
}
