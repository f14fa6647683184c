import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { certificateToPem, parseCertificatesPem } from '../../pkg/cert/cert-pem.js';
import {
  ED25519_PRIVATE_KEY_BANNER,
  ED25519_PUBLIC_KEY_BANNER,
  X25519_PRIVATE_KEY_BANNER,
  X25519_PUBLIC_KEY_BANNER,
  certMatchesPrivateKey,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  parseEd25519PrivateKeyPem,
  parseEd25519PublicKeyPem,
  parseX25519PrivateKeyPem,
  parseX25519PublicKeyPem,
  x25519PublicKey,
} from '../../pkg/cert/keys.js';
import { decodePemBlocks, encodePem } from '../../pkg/cert/pem.js';
import { signCertificate } from '../../pkg/cert/signature.js';
import { fixture, makeCa, makeHost, hostDetails } from '../fixtures/cert/make-certs.js';

function pemError(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { name: string; code: string; message: string };
    return err.name === 'CertError' && err.code === code && message.test(err.message);
  });
}

describe('PEM framing', () => {
  it('writes Go encoding/pem layout: 64-character base64 lines and a trailing newline', () => {
    const bytes = new Uint8Array(100).map((_, i) => i);
    const pem = encodePem('NEBULA TEST', bytes);
    const lines = pem.split('\n');
    assert.equal(lines[0], '-----BEGIN NEBULA TEST-----');
    assert.equal(lines[1].length, 64);
    assert.equal(lines.at(-2), '-----END NEBULA TEST-----');
    assert.equal(lines.at(-1), '');
    assert.deepEqual(decodePemBlocks(pem), [{ banner: 'NEBULA TEST', bytes }]);
  });

  it('writes certificates byte-identical to nebula-cert files', () => {
    for (const name of ['ca', 'host1', 'host3']) {
      const text = fixture(`${name}.crt`);
      assert.equal(certificateToPem(parseCertificatesPem(text)[0]), text);
    }
  });

  it('reads several blocks, tolerating text and CRLF line ends between them', () => {
    const a = encodePem('A', new Uint8Array([1]));
    const b = encodePem('B', new Uint8Array([2, 3]));
    const text = `# comment\n${a}\r\nsome note\n${b.replace(/\n/g, '\r\n')}\n\n`;
    assert.deepEqual(
      decodePemBlocks(text).map((x) => x.banner),
      ['A', 'B'],
    );
  });

  it('refuses a block without END, invalid base64 and text after the last block', () => {
    pemError(() => decodePemBlocks('-----BEGIN X-----\nAAAA\n'), 'ECERTPEM', /no matching END/);
    pemError(() => decodePemBlocks('-----BEGIN X-----\nA*AA\n-----END X-----\n'), 'ECERTPEM', /base64/);
    pemError(() => decodePemBlocks('-----BEGIN X-----\nAAA\n-----END X-----\n'), 'ECERTPEM', /base64/);
    pemError(() => decodePemBlocks(encodePem('X', new Uint8Array(3)) + 'junk\n'), 'ECERTPEM', /after the last/);
    pemError(() => decodePemBlocks('-----BEGIN X-----\nAAAA\n-----END Y-----\n'), 'ECERTPEM', /no matching END/);
  });

  it('refuses certificate files with no block or with another banner', () => {
    pemError(() => parseCertificatesPem(''), 'ECERTPEM', /did not contain a valid PEM/);
    pemError(() => parseCertificatesPem('hello'), 'ECERTPEM', /did not contain a valid PEM/);
    pemError(() => parseCertificatesPem(fixture('ca.key')), 'ECERTPEM', /expected "NEBULA CERTIFICATE"/);
    pemError(() => parseCertificatesPem(fixture('ca.crt') + fixture('ca.key')), 'ECERTPEM', /NEBULA ED25519/);
  });
});

describe('key files', () => {
  it('load with the right banner and size', () => {
    assert.equal(parseEd25519PrivateKeyPem(fixture('ca.key')).length, 64);
    assert.equal(parseX25519PrivateKeyPem(fixture('host1.key')).length, 32);
    assert.equal(parseX25519PublicKeyPem(fixture('host2.pub')).length, 32);
    const edPub = encodePem(ED25519_PUBLIC_KEY_BANNER, new Uint8Array(32));
    assert.equal(parseEd25519PublicKeyPem(edPub).length, 32);
  });

  it('are refused with a clear message when the banner or the size is wrong', () => {
    pemError(() => parseX25519PrivateKeyPem(fixture('ca.key')), 'ECERTPEM', /expected "NEBULA X25519 PRIVATE KEY"/);
    pemError(() => parseEd25519PrivateKeyPem(fixture('host1.key')), 'ECERTPEM', /expected "NEBULA ED25519/);
    pemError(() => parseX25519PublicKeyPem(fixture('host1.key')), 'ECERTPEM', /X25519 PUBLIC KEY/);
    pemError(() => parseX25519PrivateKeyPem(''), 'ECERTPEM', /no PEM block/);
    const short = encodePem(X25519_PRIVATE_KEY_BANNER, new Uint8Array(31));
    pemError(() => parseX25519PrivateKeyPem(short), 'ECERTKEY', /not 32 bytes/);
    const long = encodePem(X25519_PUBLIC_KEY_BANNER, new Uint8Array(33));
    pemError(() => parseX25519PublicKeyPem(long), 'ECERTKEY', /not 32 bytes/);
    const edShort = encodePem(ED25519_PRIVATE_KEY_BANNER, new Uint8Array(32));
    pemError(() => parseEd25519PrivateKeyPem(edShort), 'ECERTKEY', /not 64 bytes/);
  });
});

describe('key generation and pairing', () => {
  it('makes X25519 pairs whose public key is X25519(priv, basepoint)', () => {
    const { publicKey, privateKey } = generateX25519KeyPair();
    assert.equal(privateKey.length, 32);
    assert.deepEqual(publicKey, x25519.getPublicKey(privateKey));
    assert.deepEqual(x25519PublicKey(privateKey), publicKey);
    assert.throws(() => x25519PublicKey(new Uint8Array(31)), { code: 'ECERTKEY' });
  });

  it('makes Ed25519 private keys in Go layout: seed then public key', () => {
    const { publicKey, privateKey } = generateEd25519KeyPair();
    assert.equal(privateKey.length, 64);
    assert.deepEqual(privateKey.subarray(32), publicKey);
    assert.deepEqual(ed25519.getPublicKey(privateKey.subarray(0, 32)), publicKey);
  });

  it('pairs a host certificate only with its own X25519 private key', () => {
    const ca = makeCa();
    const keys = generateX25519KeyPair();
    const host = makeHost(ca, { publicKey: keys.publicKey });
    assert.ok(certMatchesPrivateKey(host, keys.privateKey));
    assert.ok(!certMatchesPrivateKey(host, generateX25519KeyPair().privateKey));
    assert.ok(!certMatchesPrivateKey(host, ca.keys.privateKey));
  });

  it('pairs a CA certificate only with its own 64-byte key, whose halves must agree', () => {
    const ca = makeCa();
    assert.ok(certMatchesPrivateKey(ca.cert, ca.keys.privateKey));
    assert.ok(!certMatchesPrivateKey(ca.cert, makeCa().keys.privateKey));
    assert.ok(!certMatchesPrivateKey(ca.cert, ca.keys.privateKey.subarray(0, 32)));
    const forged = ca.keys.privateKey.slice();
    forged.set(generateEd25519KeyPair().privateKey.subarray(0, 32), 0); // right public half, wrong seed
    assert.ok(!certMatchesPrivateKey(ca.cert, forged));
  });

  it('refuses to sign with a key whose public half does not match its seed', () => {
    const ca = makeCa();
    const bad = ca.keys.privateKey.slice();
    bad[40] ^= 1;
    assert.throws(() => signCertificate(hostDetails(ca), bad), { code: 'ECERTKEY' });
    assert.throws(() => signCertificate(hostDetails(ca), bad.subarray(0, 32)), { code: 'ECERTKEY' });
  });
});
