// Certificates in PEM form: a file or bundle in, one NEBULA CERTIFICATE block out.

import { marshalCertificate } from './cert-marshal.js';
import { unmarshalCertificate } from './cert-unmarshal.js';
import { CertError } from './errors.js';
import { decodePemBlocks, encodePem } from './pem.js';
import type { NebulaCertificate } from './types.js';

export const CERTIFICATE_BANNER = 'NEBULA CERTIFICATE';

/** Every certificate in a PEM text (a bundle may hold several); at least one is required. */
export function parseCertificatesPem(text: string): NebulaCertificate[] {
  const blocks = decodePemBlocks(text);
  if (blocks.length === 0) throw new CertError('ECERTPEM', 'input did not contain a valid PEM encoded block');
  return blocks.map((block) => {
    if (block.banner !== CERTIFICATE_BANNER) {
      throw new CertError('ECERTPEM', `PEM block is "${block.banner}", expected "${CERTIFICATE_BANNER}"`);
    }
    return unmarshalCertificate(block.bytes);
  });
}

export function certificateToPem(c: NebulaCertificate): string {
  return encodePem(CERTIFICATE_BANNER, marshalCertificate(c));
}
