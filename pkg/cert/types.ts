// The decoded form of a Nebula v1 certificate. Field meanings follow `RawNebulaCertificateDetails`
// (docs/wire-format.md); times are whole Unix seconds as on the wire.

import type { Ipv4Net } from '../ip/ipv4.js';

export interface CertDetails {
  name: string;
  /** ips[0] is the node's VPN address; its mask is the VPN network. Host bits are kept. */
  ips: Ipv4Net[];
  /** Networks the node may route for (unsafe_routes); stored as network addresses. */
  subnets: Ipv4Net[];
  groups: string[];
  /** Unix seconds. */
  notBefore: number;
  /** Unix seconds. */
  notAfter: number;
  /** Ed25519 public key for a CA, X25519 public key for a host. At least 32 bytes. */
  publicKey: Uint8Array;
  isCA: boolean;
  /** Lowercase hex fingerprint of the signing CA; '' when self-signed. */
  issuer: string;
}

export interface NebulaCertificate {
  details: CertDetails;
  /** 64-byte Ed25519 signature over `marshalDetails(details)`. */
  signature: Uint8Array;
}
