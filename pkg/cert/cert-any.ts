// One view over both certificate versions, for what is common to them: the CA pool, constraint checks across
// versions, `mesh-cert verify` and `print`. A v1 certificate is seen with IpPrefix networks and CURVE25519 (the
// v1 format of Nebula 1.6 has no curve field).

import { ipv4FromUint32, type IpPrefix } from '../ip/prefix.js';
import { maskToPrefix, type Ipv4Net } from '../ip/ipv4.js';
import { bytesToSignV2, fingerprintV2, marshalCertificateV2 } from './cert-v2-marshal.js';
import { CERTIFICATE_BANNER, certificateToPem } from './cert-pem.js';
import { encodePem } from './pem.js';
import { checkSignature, fingerprint } from './signature.js';
import { Curve, type CertDetailsV2, type NebulaCertificateV2 } from './cert-v2-types.js';
import type { NebulaCertificate } from './types.js';
import { verifyWithKey } from './signing-keys.js';

export const CERTIFICATE_V2_BANNER = `${CERTIFICATE_BANNER} V2`;

export type AnyCertificate = NebulaCertificate | NebulaCertificateV2;

export function isCertificateV2(c: AnyCertificate): c is NebulaCertificateV2 {
  return (c as NebulaCertificateV2).version === 2;
}

/** Either version's certificate as one shape: v2's details, plus what a v1 certificate also carries. */
export interface CertificateView extends CertDetailsV2 {
  version: 1 | 2;
  curve: number;
  publicKey: Uint8Array;
}

// A v1 mask that is not a prefix (only a crafted certificate has one) becomes length -1, which contains nothing
// and is contained by nothing, so such a certificate fails every cross-version network check.
function v1Prefix(net: Ipv4Net): IpPrefix {
  return { addr: ipv4FromUint32(net.ip), bits: maskToPrefix(net.mask) };
}

export function certificateView(c: AnyCertificate): CertificateView {
  if (isCertificateV2(c)) return { version: 2, ...c.details, curve: c.curve, publicKey: c.publicKey };
  const d = c.details;
  return {
    version: 1,
    name: d.name,
    networks: d.ips.map(v1Prefix),
    unsafeNetworks: d.subnets.map(v1Prefix),
    groups: d.groups,
    isCA: d.isCA,
    notBefore: d.notBefore,
    notAfter: d.notAfter,
    issuer: d.issuer,
    curve: Curve.CURVE25519,
    publicKey: d.publicKey,
  };
}

export function anyFingerprint(c: AnyCertificate): string {
  return isCertificateV2(c) ? fingerprintV2(c) : fingerprint(c);
}

/** True when `c` is signed by `signerPublicKey`. Never throws. */
export function anyCheckSignature(c: AnyCertificate, signerPublicKey: Uint8Array): boolean {
  if (!isCertificateV2(c)) return checkSignature(c, signerPublicKey);
  return verifyWithKey(c.curve, signerPublicKey, bytesToSignV2(c.rawDetails, c.curve, c.publicKey), c.signature);
}

export function anyCertificateToPem(c: AnyCertificate): string {
  return isCertificateV2(c) ? encodePem(CERTIFICATE_V2_BANNER, marshalCertificateV2(c)) : certificateToPem(c);
}
