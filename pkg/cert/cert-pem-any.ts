// Certificate PEM files of either version: `NEBULA CERTIFICATE` blocks are v1 (protobuf), `NEBULA CERTIFICATE V2`
// blocks are v2 (DER). A bundle may mix them, as Nebula 1.10+ CA files and migration host certificates do.

import { CERTIFICATE_V2_BANNER, type AnyCertificate } from './cert-any.js';
import { CERTIFICATE_BANNER } from './cert-pem.js';
import { unmarshalCertificate } from './cert-unmarshal.js';
import { unmarshalCertificateV2 } from './cert-v2-unmarshal.js';
import { CertError } from './errors.js';
import { decodePemBlocks, type PemBlock } from './pem.js';
import type { NebulaCertificate } from './types.js';

export function certificateFromPemBlock(block: PemBlock): AnyCertificate {
  if (block.banner === CERTIFICATE_BANNER) return unmarshalCertificate(block.bytes);
  if (block.banner === CERTIFICATE_V2_BANNER) return unmarshalCertificateV2(block.bytes);
  throw new CertError(
    'ECERTPEM',
    `PEM block is "${block.banner}", expected "${CERTIFICATE_BANNER}" or "${CERTIFICATE_V2_BANNER}"`,
  );
}

/** Every certificate in a PEM text, v1 or v2; at least one is required. */
export function parseAnyCertificatesPem(text: string): AnyCertificate[] {
  const blocks = decodePemBlocks(text);
  if (blocks.length === 0) throw new CertError('ECERTPEM', 'input did not contain a valid PEM encoded block');
  return blocks.map(certificateFromPemBlock);
}

/**
 * The v1 certificates of a host's certificate file, and how many v2 blocks were passed over. A host of a migration
 * network holds both versions in one file (Nebula 1.10); until mesh presents v2 certificates in handshakes, it
 * uses the v1 one. The v2 blocks are not decoded: nothing here uses them.
 */
export function parseV1CertificatesSkippingV2(text: string): { certs: NebulaCertificate[]; skippedV2: number } {
  const blocks = decodePemBlocks(text);
  if (blocks.length === 0) throw new CertError('ECERTPEM', 'input did not contain a valid PEM encoded block');
  const v1 = blocks.filter((b) => b.banner !== CERTIFICATE_V2_BANNER);
  const skippedV2 = blocks.length - v1.length;
  if (v1.length === 0) {
    throw new CertError(
      'ECERTPEM',
      `holds only ${CERTIFICATE_V2_BANNER} blocks; this build presents v1 certificates in handshakes (sign one with mesh-cert sign -version 1)`,
    );
  }
  return { certs: v1.map(certificateFromPemBlockV1), skippedV2 };
}

function certificateFromPemBlockV1(block: PemBlock): NebulaCertificate {
  if (block.banner !== CERTIFICATE_BANNER) {
    throw new CertError('ECERTPEM', `PEM block is "${block.banner}", expected "${CERTIFICATE_BANNER}"`);
  }
  return unmarshalCertificate(block.bytes);
}
