// Loads pki.ca, pki.cert and pki.key (paths or inline PEM) and checks them the way a daemon must before it talks
// to anyone: the key matches the certificates, each has an IP and is within its validity window, and the CA bundle
// (v1 and v2 CAs) parses. pki.cert holds a v1 certificate, a v2 one, or both (a migration host, Nebula 1.10);
// pki.initiating_version picks the one our handshakes start with (docs/certificates-v2.md, "Handshakes"). Every
// error names the config key and the file.

import {
  bytesEqual,
  CaPool,
  certificateView,
  Curve,
  isCertificateV2,
  parseAnyCertificatesPem,
  parseX25519PrivateKeyPem,
  x25519PublicKey,
  type AnyCertificate,
  type NebulaCertificate,
  type NebulaCertificateV2,
} from '../cert/index.js';
import { readPemSource, type MeshConfig } from '../config/index.js';
import { identityOf, type LocalIdentity } from '../handshake/identity.js';
import { verifyPresented } from '../handshake/peer-cert.js';

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

/** pki.cert: at most one certificate of each version (Nebula 1.10), each a host certificate. */
function hostCertificates(
  certs: AnyCertificate[],
  where: string,
): { v1?: NebulaCertificate; v2?: NebulaCertificateV2 } {
  const found: { v1?: NebulaCertificate; v2?: NebulaCertificateV2 } = {};
  for (const c of certs) {
    const v = isCertificateV2(c) ? 'v2' : 'v1';
    if (found[v]) throw new PkiError(`${where}: more than one ${v} certificate (at most one of each version)`);
    if (c.details.isCA) throw new PkiError(`${where}: the ${v} certificate is a CA, not a host certificate`);
    if (isCertificateV2(c)) found.v2 = c;
    else found.v1 = c;
  }
  return found;
}

export function loadPki(config: MeshConfig, baseDir: string, nowSeconds = Math.floor(Date.now() / 1000)): Pki {
  const { pki } = config;
  if (!pki.ca) throw new PkiError('pki.ca: required');
  if (!pki.cert) throw new PkiError('pki.cert: required');
  if (!pki.key) throw new PkiError('pki.key: required');
  const caPool = attempt('pki.ca', pki.ca, () =>
    CaPool.fromPem(readPemSource(pki.ca, baseDir), nowSeconds, { v2: 'load' }),
  );
  caPool.setBlocklist(pki.blocklist);
  const certWhere = describe('pki.cert', pki.cert);
  const { v1, v2 } = hostCertificates(
    attempt('pki.cert', pki.cert, () => parseAnyCertificatesPem(readPemSource(pki.cert, baseDir))),
    certWhere,
  );
  const key = attempt('pki.key', pki.key, () => parseX25519PrivateKeyPem(readPemSource(pki.key, baseDir)));
  for (const c of [v1, v2]) {
    if (!c) continue;
    const v = isCertificateV2(c) ? 2 : 1;
    if (isCertificateV2(c) && c.curve !== Curve.CURVE25519) {
      throw new PkiError(`${certWhere}: the v2 certificate is not on Curve25519; mesh handshakes are Curve25519 only`);
    }
    if (!bytesEqual(x25519PublicKey(key), certificateView(c).publicKey)) {
      throw new PkiError(
        `${describe('pki.key', pki.key)}: private key does not match the public key in the v${v} certificate of pki.cert`,
      );
    }
    if (certificateView(c).networks.length === 0) throw new PkiError(`${certWhere}: the v${v} certificate has no IP`);
    if (c.details.notBefore > nowSeconds || c.details.notAfter < nowSeconds) {
      throw new PkiError(`${certWhere}: the v${v} certificate is expired`);
    }
  }
  let identity: LocalIdentity;
  try {
    identity = identityOf({ v1, v2, initiatingVersion: pki.initiatingVersion }, key);
  } catch (e) {
    const field = /initiating version/.test((e as Error).message) ? 'pki.initiating_version' : certWhere;
    throw new PkiError(`${field}: ${(e as Error).message}`);
  }
  const warnings: string[] = [];
  for (const c of [v1, v2]) {
    if (!c) continue;
    try {
      verifyPresented(c, caPool, nowSeconds);
    } catch (e) {
      const v = isCertificateV2(c) ? 2 : 1;
      warnings.push(
        `pki.cert: the v${v} certificate does not verify against pki.ca: ${(e as Error).message}; peers using this CA bundle will refuse it`,
      );
    }
  }
  for (const ca of caPool.expiredCas ?? []) warnings.push(`pki.ca: CA "${ca.details.name}" is expired`);
  return { caPool, identity, warnings };
}
