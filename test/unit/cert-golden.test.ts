// Golden vectors: certificates written by the real nebula-cert 1.6.1 (test/fixtures/cert/generate.sh).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CaPool } from '../../pkg/cert/ca-pool.js';
import { marshalCertificate, marshalDetails } from '../../pkg/cert/cert-marshal.js';
import { unmarshalCertificate } from '../../pkg/cert/cert-unmarshal.js';
import { parseCertificatesPem } from '../../pkg/cert/cert-pem.js';
import {
  certMatchesPrivateKey,
  parseEd25519PrivateKeyPem,
  parseX25519PrivateKeyPem,
  parseX25519PublicKeyPem,
} from '../../pkg/cert/keys.js';
import { decodePemBlocks } from '../../pkg/cert/pem.js';
import { formatCertificateJson, formatCertificateText } from '../../pkg/cert/print.js';
import { checkSignature, fingerprint } from '../../pkg/cert/signature.js';
import { formatNet } from '../../pkg/cert/net-text.js';
import { FIXTURE_NOW, fixture } from '../fixtures/cert/make-certs.js';

const CERTS = ['ca', 'ca-constrained', 'ca-odd-name', 'host1', 'host2', 'host3', 'host-expired'];

interface PrintJson {
  details: { name: string; ips: string[]; subnets: string[]; groups: string[]; isCa: boolean; issuer: string };
  fingerprint: string;
}

function jsonLines(name: string): PrintJson[] {
  return fixture(`${name}.json`)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PrintJson);
}

describe('golden certificates from nebula-cert', () => {
  for (const name of CERTS) {
    it(`${name}.crt re-marshals to exactly the bytes nebula-cert wrote`, () => {
      const [block] = decodePemBlocks(fixture(`${name}.crt`));
      const cert = unmarshalCertificate(block.bytes);
      assert.deepEqual(marshalCertificate(cert), block.bytes);
    });

    it(`${name}.crt has the fingerprint nebula-cert print -json reports, the SHA-256 of the PEM body`, () => {
      const [block] = decodePemBlocks(fixture(`${name}.crt`));
      const [cert] = parseCertificatesPem(fixture(`${name}.crt`));
      const [printed] = jsonLines(name);
      assert.equal(fingerprint(cert), printed.fingerprint);
      assert.equal(bytesToHex(sha256(block.bytes)), printed.fingerprint);
    });

    it(`${name}.crt decodes to the fields nebula-cert print -json shows`, () => {
      const [cert] = parseCertificatesPem(fixture(`${name}.crt`));
      const { details } = jsonLines(name)[0];
      assert.equal(cert.details.name, details.name);
      assert.deepEqual(cert.details.ips.map(formatNet), details.ips);
      assert.deepEqual(cert.details.subnets.map(formatNet), details.subnets);
      assert.deepEqual(cert.details.groups, details.groups);
      assert.equal(cert.details.isCA, details.isCa);
      assert.equal(cert.details.issuer, details.issuer);
    });

    it(`${name}.crt prints exactly as nebula-cert print and print -json do (UTC)`, () => {
      const certs = parseCertificatesPem(fixture(`${name}.crt`));
      assert.equal(certs.map((c) => formatCertificateText(c) + '\n').join(''), fixture(`${name}.txt`));
      assert.equal(certs.map((c) => formatCertificateJson(c) + '\n').join(''), fixture(`${name}.json`));
    });
  }

  it('a bundle prints every certificate in it, in order', () => {
    const certs = parseCertificatesPem(fixture('ca-bundle.crt'));
    assert.equal(certs.length, 2);
    assert.equal(certs.map((c) => formatCertificateJson(c) + '\n').join(''), fixture('ca-bundle.json'));
  });

  it('CA signatures verify with their own key and host signatures with their issuer key', () => {
    const [ca] = parseCertificatesPem(fixture('ca.crt'));
    const [constrained] = parseCertificatesPem(fixture('ca-constrained.crt'));
    assert.ok(checkSignature(ca, ca.details.publicKey));
    assert.ok(checkSignature(constrained, constrained.details.publicKey));
    for (const host of ['host1', 'host2', 'host-expired']) {
      const [cert] = parseCertificatesPem(fixture(`${host}.crt`));
      assert.ok(checkSignature(cert, ca.details.publicKey), host);
      assert.ok(!checkSignature(cert, constrained.details.publicKey), host);
    }
    const [host3] = parseCertificatesPem(fixture('host3.crt'));
    assert.ok(checkSignature(host3, constrained.details.publicKey));
  });

  it('the signature is Ed25519 over the bytes inside field 1 of the certificate', () => {
    const [block] = decodePemBlocks(fixture('host1.crt'));
    const cert = unmarshalCertificate(block.bytes);
    const details = marshalDetails(cert.details);
    // field 1 tag, then a one-byte length (details are < 128 bytes here), then the details bytes
    assert.equal(block.bytes[0], 0x0a);
    assert.equal(block.bytes[1], details.length);
    assert.deepEqual(block.bytes.subarray(2, 2 + details.length), details);
  });

  it('private keys written by nebula-cert pair with their certificates', () => {
    const [ca] = parseCertificatesPem(fixture('ca.crt'));
    const [host1] = parseCertificatesPem(fixture('host1.crt'));
    const [host2] = parseCertificatesPem(fixture('host2.crt'));
    assert.ok(certMatchesPrivateKey(ca, parseEd25519PrivateKeyPem(fixture('ca.key'))));
    assert.ok(certMatchesPrivateKey(host1, parseX25519PrivateKeyPem(fixture('host1.key'))));
    assert.ok(!certMatchesPrivateKey(host1, parseX25519PrivateKeyPem(fixture('host2.key'))));
    assert.deepEqual(host2.details.publicKey, parseX25519PublicKeyPem(fixture('host2.pub')));
  });

  it('the CA pool accepts the golden hosts under their CAs and rejects the expired one', () => {
    const pool = CaPool.fromPem(fixture('ca-bundle.crt'), FIXTURE_NOW);
    assert.equal(pool.cas.size, 2);
    for (const host of ['host1', 'host2', 'host3']) {
      const [cert] = parseCertificatesPem(fixture(`${host}.crt`));
      pool.verify(cert, FIXTURE_NOW);
    }
    const [expired] = parseCertificatesPem(fixture('host-expired.crt'));
    assert.throws(() => pool.verify(expired, FIXTURE_NOW), { code: 'ECERTEXPIRED' });
  });
});
