// A CA pool holding v1 and v2 CAs: the daemon's default skips v2 blocks (it cannot use them in handshakes yet,
// as a Nebula 1.9.5 build without v2), `{ v2: 'load' }` trusts both and verifyAny checks either version under
// either, with the constraint, curve, expiry and blocklist rules of Nebula 1.10.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  anyCertificateToPem,
  anyFingerprint,
  bytesToSignV2,
  CaPool,
  certificateToPem,
  CertError,
  CertVerifyError,
  Curve,
  fingerprint,
  fingerprintV2,
  marshalDetailsV2,
  parseAnyCertificatesPem,
  signCertificate,
  signCertificateV2,
  signingPublicKey,
  type AnyCertificate,
  type CertDetailsV2,
  type NebulaCertificate,
  type NebulaCertificateV2,
  type SigningKey,
} from '../../pkg/cert/index.js';
import { p256OtherS, signWithKey } from '../../pkg/cert/signing-keys.js';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { ed25519Key, p256Key } from './helpers/cert-v2-keys.js';

const NOW = 1_780_000_000;
const HOST_KEY = new Uint8Array(32).fill(3);

function v1Ca(key: SigningKey, over: Partial<NebulaCertificate['details']> = {}): NebulaCertificate {
  return signCertificate(
    {
      name: 'v1 ca',
      ips: [],
      subnets: [],
      groups: [],
      notBefore: NOW - 100,
      notAfter: NOW + 100_000,
      publicKey: signingPublicKey(key),
      isCA: true,
      issuer: '',
      ...over,
    },
    key.privateKey,
  );
}

function v2Ca(key: SigningKey, over: Partial<CertDetailsV2> = {}): NebulaCertificateV2 {
  const details = {
    name: 'v2 ca',
    networks: [],
    unsafeNetworks: [],
    groups: [],
    isCA: true,
    notBefore: NOW - 100,
    notAfter: NOW + 100_000,
    issuer: '',
    ...over,
  };
  return signCertificateV2({ details, curve: key.curve, publicKey: signingPublicKey(key) }, null, key);
}

function v2Host(ca: AnyCertificate, key: SigningKey, over: Partial<CertDetailsV2> = {}): NebulaCertificateV2 {
  const details = {
    name: 'h2',
    networks: [parseIpPrefix('10.1.0.2/16')],
    unsafeNetworks: [],
    groups: [],
    isCA: false,
    notBefore: NOW,
    notAfter: NOW + 1000,
    issuer: '',
    ...over,
  };
  return signCertificateV2({ details, curve: key.curve, publicKey: HOST_KEY }, ca, key);
}

function v1Host(issuer: string, key: SigningKey, ip = '10.1.0.3/16'): NebulaCertificate {
  return signCertificate(
    {
      name: 'h1',
      ips: [parseCidr(ip)],
      subnets: [],
      groups: [],
      notBefore: NOW,
      notAfter: NOW + 1000,
      publicKey: HOST_KEY,
      isCA: false,
      issuer,
    },
    key.privateKey,
  );
}

/** A v2 host signed by `key` as `issuer` without the signer's constraint check (what a rogue signer could make). */
function forgedV2Host(issuer: string, key: SigningKey, curve: number, networks: string[]): NebulaCertificateV2 {
  const details: CertDetailsV2 = {
    name: 'rogue',
    networks: networks.map(parseIpPrefix),
    unsafeNetworks: [],
    groups: [],
    isCA: false,
    notBefore: NOW,
    notAfter: NOW + 1000,
    issuer,
  };
  const rawDetails = marshalDetailsV2(details);
  const signature = signWithKey(key, bytesToSignV2(rawDetails, curve, HOST_KEY));
  return { version: 2, details, rawDetails, curve, publicKey: HOST_KEY, signature };
}

const code = (c: string) => (e: unknown) => (e instanceof CertVerifyError || e instanceof CertError) && e.code === c;

describe('CA pool with v1 and v2 CAs', () => {
  const k1 = ed25519Key('v1 ca');
  const k2 = ed25519Key('v2 ca');
  const ca1 = v1Ca(k1, { ips: [parseCidr('10.1.0.0/16')] });
  const ca2 = v2Ca(k2);
  const bundle = certificateToPem(ca1) + anyCertificateToPem(ca2);

  it('by default (the daemon) skips v2 blocks, counts them, and still refuses a bundle with no usable CA', () => {
    const pool = CaPool.fromPem(bundle, NOW);
    assert.deepEqual([...pool.cas.keys()], [fingerprint(ca1)]);
    assert.equal(pool.casV2.size, 0);
    assert.equal(pool.skippedV2Blocks, 1);
    assert.throws(() => pool.verify(v1Host(fingerprintV2(ca2), k2), NOW), code('ECERTUNKNOWNCA'));
    assert.throws(() => CaPool.fromPem(anyCertificateToPem(ca2), NOW), code('ECERTNOVALIDCA'));
  });

  it('with { v2: "load" } verifies each version under each version of CA', () => {
    const pool = CaPool.fromPem(bundle, NOW, { v2: 'load' });
    assert.equal(pool.cas.size + pool.casV2.size, 2);
    assert.equal(pool.skippedV2Blocks, 0);
    const signer = (c: AnyCertificate): string => anyFingerprint(pool.verifyAny(c, NOW));
    assert.equal(signer(v1Host(fingerprint(ca1), k1)), fingerprint(ca1), 'v1 under v1');
    assert.equal(signer(v2Host(ca2, k2)), fingerprintV2(ca2), 'v2 under v2');
    assert.equal(signer(v2Host(ca1, k1)), fingerprint(ca1), 'v2 under v1');
    assert.equal(signer(v1Host(fingerprintV2(ca2), k2)), fingerprintV2(ca2), 'v1 under v2');
  });

  it("applies a v1 CA's networks to a v2 certificate, and a v2 CA's to a v1 certificate", () => {
    const ca2n = v2Ca(k2, { networks: [parseIpPrefix('10.9.0.0/16')], name: 'v2 constrained' });
    const pool = CaPool.fromPem(bundle + anyCertificateToPem(ca2n), NOW, { v2: 'load' });
    assert.throws(
      () => pool.verifyAny(forgedV2Host(fingerprint(ca1), k1, Curve.CURVE25519, ['10.2.0.1/24']), NOW),
      code('ECERTNETWORK'),
    );
    assert.throws(
      () => pool.verifyAny(forgedV2Host(fingerprint(ca1), k1, Curve.CURVE25519, ['fd00::1/64']), NOW),
      code('ECERTNETWORK'),
    );
    assert.doesNotThrow(() =>
      pool.verifyAny(forgedV2Host(fingerprint(ca1), k1, Curve.CURVE25519, ['10.1.7.1/24']), NOW),
    );
    assert.throws(() => pool.verifyAny(v1Host(fingerprintV2(ca2n), k2, '10.8.0.1/16'), NOW), code('ECERTNETWORK'));
    assert.doesNotThrow(() => pool.verifyAny(v1Host(fingerprintV2(ca2n), k2, '10.9.0.1/24'), NOW));
  });

  it("refuses a curve other than the CA's, an expired v2 CA, a blocklisted v2 certificate, a bad signature", () => {
    const kp = p256Key('p256 ca');
    const caP = v2Ca(kp, { name: 'p256' });
    const old = v2Ca(k2, { name: 'old', notBefore: NOW - 1000, notAfter: NOW - 10 });
    const pool = CaPool.fromPem(bundle + anyCertificateToPem(caP) + anyCertificateToPem(old), NOW, { v2: 'load' });
    assert.deepEqual(
      pool.expiredCas.map((c) => c.details.name),
      ['old'],
    );
    assert.throws(
      () => pool.verifyAny(forgedV2Host(fingerprintV2(caP), k2, Curve.CURVE25519, ['10.1.0.5/16']), NOW),
      code('ECERTCURVEMISMATCH'),
    );
    assert.doesNotThrow(() => pool.verifyAny(v2Host(caP, kp), NOW));
    const expiredHost = forgedV2Host(fingerprintV2(old), k2, Curve.CURVE25519, ['10.1.0.5/16']);
    assert.throws(() => pool.verifyAny(expiredHost, NOW), code('ECERTCAEXPIRED'));
    const host = v2Host(ca2, k2);
    pool.setBlocklist([fingerprintV2(host).toUpperCase()]);
    assert.throws(() => pool.verifyAny(host, NOW), code('ECERTBLOCKED'));
    pool.setBlocklist([]);
    const tampered = { ...host, signature: host.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    assert.throws(() => pool.verifyAny(tampered, NOW), code('ECERTSIGNATURE'));
    assert.throws(() => pool.verifyAny(v2Host(ca2, k2, { notAfter: NOW + 10 }), NOW + 20), code('ECERTEXPIRED'));
  });

  it('blocklists a P-256 certificate under either form of its signature (S or n - S), as Nebula does', () => {
    const kp = p256Key('p256 ca');
    const caP = v2Ca(kp, { name: 'p256' });
    const pool = CaPool.fromPem(anyCertificateToPem(caP), NOW, { v2: 'load' });
    const host = v2Host(caP, kp);
    const twin = { ...host, signature: p256OtherS(host.signature) };
    assert.notEqual(fingerprintV2(twin), fingerprintV2(host));
    assert.doesNotThrow(() => pool.verifyAny(twin, NOW), 'the other form verifies too');
    for (const listed of [host, twin]) {
      pool.setBlocklist([fingerprintV2(listed)]);
      assert.throws(() => pool.verifyAny(host, NOW), code('ECERTBLOCKED'));
      assert.throws(() => pool.verifyAny(twin, NOW), code('ECERTBLOCKED'));
    }
  });

  it('refuses a v2 CA block that is not a CA or not self-signed', () => {
    const host = v2Host(ca2, k2);
    assert.throws(() => CaPool.fromPem(bundle + anyCertificateToPem(host), NOW, { v2: 'load' }), code('ECERTNOTCA'));
    const other = v2Ca(ed25519Key('other'));
    const notSelf: NebulaCertificateV2 = { ...other, signature: ca2.signature };
    assert.throws(
      () => CaPool.fromPem(bundle + anyCertificateToPem(notSelf), NOW, { v2: 'load' }),
      code('ECERTNOTSELFSIGNED'),
    );
  });

  it('reads a mixed PEM bundle back in order with each version intact', () => {
    const certs = parseAnyCertificatesPem(bundle);
    assert.equal(certs.length, 2);
    assert.equal(fingerprint(certs[0] as NebulaCertificate), fingerprint(ca1));
    assert.equal(fingerprintV2(certs[1] as NebulaCertificateV2), fingerprintV2(ca2));
    assert.match(anyCertificateToPem(ca2), /^-----BEGIN NEBULA CERTIFICATE V2-----\n/);
  });
});
