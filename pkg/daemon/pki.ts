// Loads pki.ca, pki.cert and pki.key (paths or inline PEM) and checks them the way a daemon must before it talks
// to anyone: the key matches the certificate, the certificate has an IP and is within its validity window, and
// the CA bundle parses. Every error names the config key and the file.

import {
  CaPool,
  certMatchesPrivateKey,
  isCertExpired,
  parseV1CertificatesSkippingV2,
  parseX25519PrivateKeyPem,
  type NebulaCertificate,
} from '../cert/index.js';
import { readPemSource, type MeshConfig } from '../config/index.js';
import { localIdentity, type LocalIdentity } from '../handshake/identity.js';

export class PkiError extends Error {
  override name = 'PkiError';
  readonly code = 'EPKI';
}

export interface Pki {
  caPool: CaPool;
  identity: LocalIdentity;
  warnings: string[];
}

function describe(key: string, value: string): string {
  return value.includes('-----BEGIN') ? `${key} (inline PEM)` : `${key} (${value})`;
}

function attempt<T>(key: string, value: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new PkiError(`${describe(key, value)}: ${(e as Error).message}`);
  }
}

export function loadPki(config: MeshConfig, baseDir: string, nowSeconds = Math.floor(Date.now() / 1000)): Pki {
  const { pki } = config;
  if (!pki.ca) throw new PkiError('pki.ca: required');
  if (!pki.cert) throw new PkiError('pki.cert: required');
  if (!pki.key) throw new PkiError('pki.key: required');
  const caPool = attempt('pki.ca', pki.ca, () => CaPool.fromPem(readPemSource(pki.ca, baseDir)));
  caPool.setBlocklist(pki.blocklist);
  const certFile = attempt('pki.cert', pki.cert, () => parseV1CertificatesSkippingV2(readPemSource(pki.cert, baseDir)));
  const certs = certFile.certs;
  if (certs.length === 0) throw new PkiError(`${describe('pki.cert', pki.cert)}: no certificate found`);
  const cert: NebulaCertificate = certs[0];
  const key = attempt('pki.key', pki.key, () => parseX25519PrivateKeyPem(readPemSource(pki.key, baseDir)));
  if (!certMatchesPrivateKey(cert, key)) {
    throw new PkiError(`${describe('pki.key', pki.key)}: private key does not match the public key in pki.cert`);
  }
  if (cert.details.ips.length === 0) throw new PkiError(`${describe('pki.cert', pki.cert)}: certificate has no IP`);
  if (isCertExpired(cert, nowSeconds)) throw new PkiError(`${describe('pki.cert', pki.cert)}: certificate is expired`);
  const warnings: string[] = [];
  try {
    caPool.verify(cert, nowSeconds);
  } catch (e) {
    warnings.push(`pki.cert does not verify against pki.ca: ${(e as Error).message}; peers using this CA bundle will refuse it`);
  }
  for (const ca of caPool.expiredCas ?? []) warnings.push(`pki.ca: CA "${ca.details.name}" is expired`);
  if (certFile.skippedV2 > 0) {
    warnings.push(`pki.cert: skipped ${certFile.skippedV2} NEBULA CERTIFICATE V2 block(s); using the v1 certificate`);
  }
  if (caPool.skippedV2Blocks > 0) {
    warnings.push(
      `pki.ca: skipped ${caPool.skippedV2Blocks} NEBULA CERTIFICATE V2 block(s); this build uses v1 certificates in handshakes only`,
    );
  }
  return { caPool, identity: localIdentity(cert, key), warnings };
}
