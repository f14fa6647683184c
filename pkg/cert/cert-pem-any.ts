// Certificate PEM files of either version: `NEBULA CERTIFICATE` blocks are v1 (protobuf), `NEBULA CERTIFICATE V2`
// blocks are v2 (DER). A bundle may mix them, as Nebula 1.10+ CA files and migration host certificates do.

import { CERTIFICATE_V2_BANNER, type AnyCertificate } from './cert-any.js';
import { CERTIFICATE_BANNER } from './cert-pem.js';
import { unmarshalCertificate } from './cert-unmarshal.js';
import { unmarshalCertificateV2 } from './cert-v2-unmarshal.js';
import { CertError } from './errors.js';
import { decodePemBlocks, type PemBlock } from './pem.js';

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
