// `mesh-cert ca -version 2`: a self-signed v2 (ASN.1) CA, as nebula-cert 1.10 makes it. Ed25519 only: the P-256
// curve (`-curve P256`) is not offered yet (docs/certificates-v2.md).

import { anyCertificateToPem } from '../../pkg/cert/cert-any.js';
import { signCertificateV2 } from '../../pkg/cert/cert-v2-sign.js';
import { Curve } from '../../pkg/cert/cert-v2-types.js';
import { ED25519_PRIVATE_KEY_BANNER, generateEd25519KeyPair } from '../../pkg/cert/keys.js';
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
}

/** The CA certificate and its private key, both as PEM. */
export function makeCaV2(r: CaRequest): { certPem: string; keyPem: string } {
  const keys = generateEd25519KeyPair();
  const cert = signedOrCliError(() => signCertificateV2(
    {
      details: { ...r, isCA: true, issuer: '' },
      curve: Curve.CURVE25519,
      publicKey: keys.publicKey,
    },
    null,
    { curve: Curve.CURVE25519, privateKey: keys.privateKey },
  ));
  return { certPem: anyCertificateToPem(cert), keyPem: encodePem(ED25519_PRIVATE_KEY_BANNER, keys.privateKey) };
}
