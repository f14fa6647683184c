// The daemon's pki.ca may hold v2 CAs (a Nebula 1.10+ CA file, or a migration bundle): it starts with the v1 CAs,
// warns once about the skipped v2 blocks, and refuses a file holding v2 CAs only, as a Nebula 1.9.5 build
// without v2 support does. Likewise pki.cert of a migration host (v1 and v2 certificates): the v1 one is used.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyCertificateToPem, Curve, fingerprint, signCertificateV2, signingPublicKey } from '../../pkg/cert/index.js';
import type { MeshConfig } from '../../pkg/config/index.js';
import { loadPki, PkiError } from '../../pkg/daemon/pki.js';
import { ed25519Key } from './helpers/cert-v2-keys.js';
import { makeHostCert, makeTestCa, nowSeconds } from './helpers/pki.js';

function v2CaPem(): string {
  const key = ed25519Key('daemon v2 ca');
  const now = nowSeconds();
  const details = { name: 'v2 ca', networks: [], unsafeNetworks: [], groups: [], isCA: true, notBefore: now - 60, notAfter: now + 3600, issuer: '' };
  return anyCertificateToPem(signCertificateV2({ details, curve: Curve.CURVE25519, publicKey: signingPublicKey(key) }, null, key));
}

function configWith(ca: string, cert: string, key: string): MeshConfig {
  return { pki: { ca, cert, key, blocklist: [] } } as unknown as MeshConfig;
}

describe('daemon pki.ca with v2 CA blocks', () => {
  const ca = makeTestCa('v1 ca');
  const host = makeHostCert(ca, { ip: '10.70.0.1/24' });

  it('loads the v1 CAs, skips the v2 block with one warning, and still verifies its own v1 certificate', () => {
    const pki = loadPki(configWith(v2CaPem() + ca.pem + v2CaPem(), host.certPem, host.keyPem), '/');
    assert.equal(pki.caPool.cas.size, 1);
    const v2Warnings = pki.warnings.filter((w) => w.includes('V2'));
    assert.equal(v2Warnings.length, 1, pki.warnings.join('\n'));
    assert.match(v2Warnings[0], /skipped 2 NEBULA CERTIFICATE V2 block/);
    assert.equal(pki.warnings.length, 1, 'no "does not verify" warning: the v1 CA is there');
  });

  it('a migration host file (v2 and v1 certificates) runs with the v1 one and one warning; v2 only is refused', () => {
    const pki = loadPki(configWith(ca.pem, v2CaPem() + host.certPem, host.keyPem), '/');
    assert.equal(fingerprint(pki.identity.cert), host.fingerprint);
    assert.deepEqual(pki.warnings, ['pki.cert: skipped 1 NEBULA CERTIFICATE V2 block(s); using the v1 certificate']);
    assert.throws(
      () => loadPki(configWith(ca.pem, v2CaPem(), host.keyPem), '/'),
      (e: unknown) => e instanceof PkiError && /pki\.cert.*only NEBULA CERTIFICATE V2 blocks.*-version 1/.test(e.message),
    );
  });

  it('refuses a CA file with v2 CAs only, naming pki.ca', () => {
    assert.throws(
      () => loadPki(configWith(v2CaPem(), host.certPem, host.keyPem), '/'),
      (e: unknown) => e instanceof PkiError && /pki\.ca.*no valid CA certificates present/.test(e.message),
    );
  });
});
