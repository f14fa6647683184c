// Nebula's Verify (docs/wire-format.md, "CA bundles and verification"): one test per rule, plus the order in which the
// rules are applied.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaPool } from '../../pkg/cert/ca-pool.js';
import { certificateToPem } from '../../pkg/cert/cert-pem.js';
import { CertVerifyError } from '../../pkg/cert/errors.js';
import { isCertExpired } from '../../pkg/cert/root-constraints.js';
import { fingerprint, signCertificate } from '../../pkg/cert/signature.js';
import type { NebulaCertificate } from '../../pkg/cert/types.js';
import { DAY, T0, hostDetails, makeCa, makeHost, type TestCa } from '../fixtures/cert/make-certs.js';

function poolOf(...cas: TestCa[]): CaPool {
  const pool = new CaPool();
  for (const ca of cas) pool.addCa(ca.cert);
  return pool;
}

function assertRejected(pool: CaPool, cert: NebulaCertificate, code: string, message: string, now = T0): void {
  assert.throws(
    () => pool.verify(cert, now),
    (e: unknown) => e instanceof CertVerifyError && e.code === code && e.message === message,
    `expected ${code}`,
  );
}

describe('verifying a certificate against the CA pool', () => {
  it('accepts a certificate signed by a pooled CA within all constraints, returning that CA', () => {
    const ca = makeCa({ groups: ['a', 'b'], ips: ['10.1.0.0/16'], subnets: ['192.168.0.0/16'] });
    const host = makeHost(ca, { groups: ['a'], ips: ['10.1.2.3/24'], subnets: ['192.168.5.0/24'] });
    assert.equal(poolOf(ca).verify(host, T0), ca.cert);
  });

  it('rule 1: refuses a blocklisted certificate, before any other rule', () => {
    const ca = makeCa();
    const host = makeHost(ca, { notAfter: T0 - 10 }); // also expired
    const pool = poolOf(ca);
    pool.setBlocklist([fingerprint(host).toUpperCase()]);
    assertRejected(pool, host, 'ECERTBLOCKED', 'certificate has been blocked');
    pool.setBlocklist([]);
    assertRejected(pool, host, 'ECERTEXPIRED', 'certificate is expired');
  });

  it('rule 2: refuses a certificate with no issuer, or an issuer not in the pool', () => {
    const ca = makeCa();
    const pool = poolOf(ca);
    assertRejected(pool, ca.cert, 'ECERTNOISSUER', 'no issuer in certificate');
    const other = makeCa();
    assertRejected(pool, makeHost(other), 'ECERTUNKNOWNCA', 'could not find ca for the certificate');
  });

  it('rule 3: refuses any certificate of an expired CA, before looking at the certificate itself', () => {
    const ca = makeCa({ notBefore: T0 - 10 * DAY, notAfter: T0 - DAY });
    const host = makeHost(ca, { notBefore: T0 - 5 * DAY, notAfter: T0 - 2 * DAY });
    assertRejected(poolOf(ca), host, 'ECERTCAEXPIRED', 'root certificate is expired');
  });

  it('rule 4: refuses a certificate that is no longer or not yet valid; the bounds themselves are valid', () => {
    const ca = makeCa();
    const pool = poolOf(ca);
    assertRejected(pool, makeHost(ca, { notAfter: T0 - 1 }), 'ECERTEXPIRED', 'certificate is expired');
    assertRejected(pool, makeHost(ca, { notBefore: T0 + 1 }), 'ECERTEXPIRED', 'certificate is expired');
    pool.verify(makeHost(ca, { notBefore: T0, notAfter: T0 }), T0);
    const host = makeHost(ca, { notBefore: T0, notAfter: T0 + 1 });
    assert.equal(isCertExpired(host, T0 + 1.5), true);
    assert.equal(isCertExpired(host, T0 + 0.5), false);
  });

  it('rule 5: refuses a certificate whose details were changed after signing, or signed by another key', () => {
    const ca = makeCa();
    const pool = poolOf(ca);
    const host = makeHost(ca);
    const tampered = { ...host, details: { ...host.details, groups: ['admin'] } };
    assertRejected(pool, tampered, 'ECERTSIGNATURE', 'certificate signature did not match');
    const impostor = makeCa();
    const forged = signCertificate(hostDetails(ca), impostor.keys.privateKey);
    assertRejected(pool, forged, 'ECERTSIGNATURE', 'certificate signature did not match');
  });

  it('rule 6: refuses a certificate that outlives its CA or starts before it', () => {
    const ca = makeCa({ notBefore: T0 - DAY, notAfter: T0 + DAY });
    const pool = poolOf(ca);
    assertRejected(
      pool,
      makeHost(ca, { notBefore: T0 - DAY, notAfter: T0 + DAY + 1 }),
      'ECERTEXPIRESAFTERCA',
      'certificate expires after signing certificate',
    );
    assertRejected(
      pool,
      makeHost(ca, { notBefore: T0 - DAY - 1, notAfter: T0 + DAY }),
      'ECERTVALIDBEFORECA',
      'certificate is valid before the signing certificate',
    );
  });

  it('rule 6: refuses a group the CA does not list, and allows any group when the CA lists none', () => {
    const ca = makeCa({ groups: ['ops', 'web'] });
    assertRejected(
      poolOf(ca),
      makeHost(ca, { groups: ['web', 'db'] }),
      'ECERTGROUP',
      'certificate contained a group not present on the signing ca: db',
    );
    const open = makeCa();
    poolOf(open).verify(makeHost(open, { groups: ['anything'] }), T0);
  });

  it('rule 6: refuses an IP outside the CA networks, or inside one with a shorter mask', () => {
    const ca = makeCa({ ips: ['10.1.0.0/16', '192.168.0.0/24'] });
    const pool = poolOf(ca);
    pool.verify(makeHost(ca, { ips: ['192.168.0.9/24'] }), T0);
    pool.verify(makeHost(ca, { ips: ['10.1.2.3/30'] }), T0);
    assertRejected(
      pool,
      makeHost(ca, { ips: ['10.2.0.1/16'] }),
      'ECERTIP',
      'certificate contained an ip assignment outside the limitations of the signing ca: 10.2.0.1/16',
    );
    assertRejected(
      pool,
      makeHost(ca, { ips: ['10.1.2.3/8'] }),
      'ECERTIP',
      'certificate contained an ip assignment outside the limitations of the signing ca: 10.1.2.3/8',
    );
  });

  it('rule 6: refuses a subnet outside the CA subnets, and allows any subnet when the CA lists none', () => {
    const ca = makeCa({ subnets: ['172.16.0.0/12'] });
    poolOf(ca).verify(makeHost(ca, { subnets: ['172.16.5.0/24'] }), T0);
    assertRejected(
      poolOf(ca),
      makeHost(ca, { subnets: ['172.16.5.0/24', '10.0.0.0/8'] }),
      'ECERTSUBNET',
      'certificate contained a subnet assignment outside the limitations of the signing ca: 10.0.0.0/8',
    );
    const open = makeCa({ ips: ['10.0.0.0/8'] });
    poolOf(open).verify(makeHost(open, { subnets: ['1.2.3.0/24'] }), T0);
  });

  it('checks expiry before the signature and the signature before constraints', () => {
    const ca = makeCa({ groups: ['a'] });
    const pool = poolOf(ca);
    const expiredAndTampered = makeHost(ca, { notAfter: T0 - 1 });
    expiredAndTampered.details.name = 'changed';
    assertRejected(pool, expiredAndTampered, 'ECERTEXPIRED', 'certificate is expired');
    const unsignedBadGroup = { ...makeHost(ca), signature: new Uint8Array(64) };
    unsignedBadGroup.details.groups = ['zzz'];
    assertRejected(pool, unsignedBadGroup, 'ECERTSIGNATURE', 'certificate signature did not match');
  });
});

describe('loading a CA bundle', () => {
  it('keys the CAs by fingerprint and finds them again', () => {
    const a = makeCa({ name: 'A' });
    const b = makeCa({ name: 'B' });
    const pool = CaPool.fromPem(certificateToPem(a.cert) + certificateToPem(b.cert) + certificateToPem(a.cert), T0);
    assert.deepEqual([...pool.cas.keys()].sort(), [a.fp, b.fp].sort());
    assert.deepEqual(pool.getCa(b.fp), b.cert);
    assert.equal(pool.getCa('00'.repeat(32)), undefined);
    assert.deepEqual(pool.expiredCas, []);
  });

  it('refuses a certificate that is not a CA', () => {
    const ca = makeCa();
    assert.throws(() => CaPool.fromPem(certificateToPem(makeHost(ca)), T0), {
      code: 'ECERTNOTCA',
      message: 'host: certificate is not a CA',
    });
  });

  it('refuses a CA that is not signed by its own key', () => {
    const ca = makeCa({ name: 'Odd' });
    const other = makeCa();
    const crossSigned = signCertificate(ca.cert.details, other.keys.privateKey);
    assert.throws(() => CaPool.fromPem(certificateToPem(crossSigned), T0), {
      code: 'ECERTNOTSELFSIGNED',
      message: 'Odd: certificate is not self-signed',
    });
  });

  it('keeps going when some CAs are expired and lists them, but refuses a bundle where all are', () => {
    const old = makeCa({ name: 'old', notBefore: T0 - 9 * DAY, notAfter: T0 - DAY });
    const current = makeCa({ name: 'current' });
    const pool = CaPool.fromPem(certificateToPem(old.cert) + certificateToPem(current.cert), T0);
    assert.deepEqual(
      pool.expiredCas.map((c) => c.details.name),
      ['old'],
    );
    assert.equal(pool.cas.size, 2);
    assert.throws(() => CaPool.fromPem(certificateToPem(old.cert), T0), {
      code: 'ECERTNOVALIDCA',
      message: 'no valid CA certificates present',
    });
  });

  it('refuses an empty bundle', () => {
    assert.throws(() => CaPool.fromPem('\n', T0), { code: 'ECERTPEM' });
  });
});
