// `mesh-cert ca -version 2`: a self-signed v2 (ASN.1) CA, as nebula-cert 1.10 makes it, with an Ed25519 key
// (`-curve 25519`, the default) or an ECDSA P-256 key (`-curve P256`).

import { anyCertificateToPem } from '../../pkg/cert/cert-any.js';
import { signCertificateV2 } from '../../pkg/cert/cert-v2-sign.js';
import { generateSigningKeyPair } from '../../pkg/cert/curve-keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import type { IpPrefix } from '../../pkg/ip/prefix.js';
import { signedOrCliError } from './sign-v2.js';

export interface CaRequest {
  name: string;
  groups: string[];
  networks: IpPrefix[];
  unsafeNetworks: IpPrefix[];
  notBefore: number;
  notAfter: number;
  curve: number;
}

/** The CA certificate and its private key, both as PEM. */
export function makeCaV2(r: CaRequest): { certPem: string; keyPem: string } {
  const { curve, ...details } = r;
  const keys = generateSigningKeyPair(curve);
  const cert = signedOrCliError(() =>
    signCertificateV2({ details: { ...details, isCA: true, issuer: '' }, curve, publicKey: keys.publicKey }, null, {
      curve,
      privateKey: keys.privateKey,
    }),
  );
  return { certPem: anyCertificateToPem(cert), keyPem: encodePem(keys.privateBanner, keys.privateKey) };
}
