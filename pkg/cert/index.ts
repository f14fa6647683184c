// Nebula v1 and v2 certificates: codec, signatures, PEM files, keys, CA pool and verification, printing.

export type { CertDetails, NebulaCertificate } from './types.js';
export { CertError, CertVerifyError, type CertErrorCode, type CertVerifyCode } from './errors.js';
export { marshalDetails, marshalCertificate, marshalCertificateForHandshake } from './cert-marshal.js';
export { unmarshalCertificate, unmarshalHandshakeCertificate } from './cert-unmarshal.js';
export { PeerCertBytes } from './peer-cert-bytes.js';
export { ipv4Networks, ipv4ViewOfV2 } from './cert-v2-ipv4-view.js';
export { fingerprint, signCertificate, checkSignature } from './signature.js';
export { encodePem, decodePemBlocks, type PemBlock } from './pem.js';
export { CERTIFICATE_BANNER, parseCertificatesPem, certificateToPem } from './cert-pem.js';
export {
  X25519_PRIVATE_KEY_BANNER,
  X25519_PUBLIC_KEY_BANNER,
  ED25519_PRIVATE_KEY_BANNER,
  ED25519_PUBLIC_KEY_BANNER,
  type KeyPair,
  parseX25519PrivateKeyPem,
  parseX25519PublicKeyPem,
  parseEd25519PrivateKeyPem,
  parseEd25519PublicKeyPem,
  x25519PublicKey,
  generateX25519KeyPair,
  generateEd25519KeyPair,
  certMatchesPrivateKey,
} from './keys.js';
export { CaPool } from './ca-pool.js';
export { isCertExpired, checkRootConstraints } from './root-constraints.js';
export { formatNet } from './net-text.js';
export { formatCertificateText, formatCertificateJson } from './print.js';
export { bytesEqual } from './constant-time.js';

// Nebula v2 certificates (ASN.1 DER), and what works across both versions (docs/certificates-v2.md).
export {
  Curve,
  curveName,
  type CertDetailsV2,
  type NebulaCertificateV2,
  type CertificateV2ToSign,
} from './cert-v2-types.js';
export {
  marshalDetailsV2,
  marshalCertificateV2,
  marshalCertificateV2ForHandshake,
  bytesToSignV2,
  fingerprintV2,
} from './cert-v2-marshal.js';
export { unmarshalCertificateV2 } from './cert-v2-unmarshal.js';
export { validateCertificateV2 } from './cert-v2-validate.js';
export { signCertificateV2, checkSignatureV2 } from './cert-v2-sign.js';
export { type SigningKey, signingPublicKey, p256PublicKey } from './signing-keys.js';
export {
  CERTIFICATE_V2_BANNER,
  type AnyCertificate,
  type CertificateView,
  isCertificateV2,
  certificateView,
  anyFingerprint,
  anyCheckSignature,
  anyCertificateToPem,
} from './cert-any.js';
export { certificateFromPemBlock, parseAnyCertificatesPem, parseV1CertificatesSkippingV2 } from './cert-pem-any.js';
export { checkCaConstraints } from './ca-constraints.js';
export type { CaPoolLoadOptions, PoolVerdict } from './ca-pool.js';
export { formatCertificateJsonV2, formatCertificateTextV2, formatCertificatesJsonArray } from './print-v2.js';
export {
  ECDSA_P256_PRIVATE_KEY_BANNER,
  P256_PRIVATE_KEY_BANNER,
  P256_PUBLIC_KEY_BANNER,
  generateP256KeyPair,
  generateSigningKeyPair,
  generateHostKeyPair,
  parseSigningPrivateKeyPem,
  parseHostPublicKeyPem,
  parseCurveName,
} from './curve-keys.js';
