// Nebula v1 certificates: codec, signatures, PEM files, keys, CA pool and verification, printing.

export type { CertDetails, NebulaCertificate } from './types.js';
export { CertError, CertVerifyError, type CertErrorCode, type CertVerifyCode } from './errors.js';
export { marshalDetails, marshalCertificate, marshalCertificateForHandshake } from './cert-marshal.js';
export { unmarshalCertificate, unmarshalHandshakeCertificate } from './cert-unmarshal.js';
export { PeerCertBytes } from './peer-cert-bytes.js';
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
