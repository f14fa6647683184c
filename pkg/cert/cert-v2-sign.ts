// Signing a v2 certificate, in Nebula's order: the key's curve must be the certificate's; a CA signs only host
// certificates within its constraints and becomes their issuer; a certificate without a signer must be a CA
// (self-signed). The details are validated (and their networks sorted) before they are encoded and signed.

import { anyFingerprint, certificateView, type AnyCertificate } from './cert-any.js';
import { checkCaConstraints } from './ca-constraints.js';
import { bytesToSignV2, marshalDetailsV2 } from './cert-v2-marshal.js';
import type { CertificateV2ToSign, NebulaCertificateV2 } from './cert-v2-types.js';
import { validateCertificateV2 } from './cert-v2-validate.js';
import { CertError } from './errors.js';
import { signWithKey, verifyWithKey, type SigningKey } from './signing-keys.js';

/** Signs `tbs` with `key`, the private key of `signer` (null: self-signed CA). Throws CertError/CertVerifyError. */
export function signCertificateV2(
  tbs: CertificateV2ToSign,
  signer: AnyCertificate | null,
  key: SigningKey,
): NebulaCertificateV2 {
  if (key.curve !== tbs.curve) throw new CertError('ECERTCURVE', "curve in cert and private key supplied don't match");
  const details = {
    ...tbs.details,
    networks: [...tbs.details.networks],
    unsafeNetworks: [...tbs.details.unsafeNetworks],
    groups: [...tbs.details.groups],
  };
  if (signer !== null) {
    if (details.isCA) throw new CertError('ECERTPROPERTIES', 'can not sign a CA certificate with another');
    const broken = checkCaConstraints(certificateView(signer), details);
    if (broken !== null) throw broken;
    details.issuer = anyFingerprint(signer);
  } else {
    if (!details.isCA) throw new CertError('ECERTPROPERTIES', 'self signed certificates must have IsCA set to true');
    details.issuer = '';
  }
  validateCertificateV2(details, tbs.publicKey);
  const rawDetails = marshalDetailsV2(details);
  const publicKey = tbs.publicKey.slice();
  const signature = signWithKey(key, bytesToSignV2(rawDetails, tbs.curve, publicKey));
  return { version: 2, details, rawDetails, curve: tbs.curve, publicKey, signature };
}

/** True when `c`'s signature verifies with `signerPublicKey` on `c`'s curve. Never throws. */
export function checkSignatureV2(c: NebulaCertificateV2, signerPublicKey: Uint8Array): boolean {
  return verifyWithKey(c.curve, signerPublicKey, bytesToSignV2(c.rawDetails, c.curve, c.publicKey), c.signature);
}
