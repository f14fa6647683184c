// Signing v2 certificates, checked by self-consistency (no Nebula >= 1.10 binary here to sign for us): Ed25519
// from a fixed seed is deterministic and verifies, P-256 verifies and is written in low-S form, any changed byte
// of the signed parts fails, and the signing rules (curve, CA-only self-signing, constraints) refuse as Nebula's.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CertError,
  CertVerifyError,
  checkSignatureV2,
  Curve,
  fingerprintV2,
  marshalCertificateV2,
  signCertificateV2,
  signingPublicKey,
  unmarshalCertificateV2,
  type CertDetailsV2,
  type SigningKey,
} from '../../pkg/cert/index.js';
import { ed25519Key, p256Key } from './helpers/cert-v2-keys.js';
import { p256LowS } from '../../pkg/cert/signing-keys.js';
import { DerReader } from '../../pkg/cert/der.js';
import { formatIpPrefix, parseIpPrefix } from '../../pkg/ip/prefix.js';

const NOW = 1_780_000_000;
function caDetails(over: Partial<CertDetailsV2> = {}): CertDetailsV2 {
  return {
    name: 'ca',
    networks: [],
    unsafeNetworks: [],
    groups: [],
    isCA: true,
    notBefore: NOW - 100,
    notAfter: NOW + 100_000,
    issuer: '',
    ...over,
  };
}

function hostDetails(over: Partial<CertDetailsV2> = {}): CertDetailsV2 {
  return {
    name: 'host',
    networks: [parseIpPrefix('10.1.0.2/16')],
    unsafeNetworks: [],
    groups: ['web'],
    isCA: false,
    notBefore: NOW,
    notAfter: NOW + 50_000,
    issuer: '',
    ...over,
  };
}

describe('v2 signing', () => {
  it('Ed25519 from a fixed seed: deterministic, verifies, and every signed part is covered', () => {
    const key = ed25519Key('ca seed');
    const make = () =>
      signCertificateV2({ details: caDetails(), curve: Curve.CURVE25519, publicKey: signingPublicKey(key) }, null, key);
    const ca = make();
    assert.equal(
      Buffer.from(marshalCertificateV2(make())).toString('hex'),
      Buffer.from(marshalCertificateV2(ca)).toString('hex'),
    );
    assert.ok(checkSignatureV2(ca, ca.publicKey));
    const decoded = unmarshalCertificateV2(marshalCertificateV2(ca));
    assert.ok(checkSignatureV2(decoded, decoded.publicKey));
    assert.equal(fingerprintV2(decoded), fingerprintV2(ca));

    const flipped = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i] ^= 1;
      return c;
    };
    assert.equal(checkSignatureV2({ ...ca, rawDetails: flipped(ca.rawDetails, 12) }, ca.publicKey), false, 'details');
    assert.equal(checkSignatureV2({ ...ca, publicKey: flipped(ca.publicKey, 0) }, ca.publicKey), false, 'key');
    assert.equal(checkSignatureV2({ ...ca, curve: Curve.P256 }, ca.publicKey), false, 'curve');
    assert.equal(checkSignatureV2({ ...ca, signature: flipped(ca.signature, 63) }, ca.publicKey), false, 'signature');
  });

  it('P-256: a CA and a host verify, signatures are low-S, a high-S form still verifies', () => {
    const caKey = p256Key('p256 ca');
    const ca = signCertificateV2(
      { details: caDetails(), curve: Curve.P256, publicKey: signingPublicKey(caKey) },
      null,
      caKey,
    );
    assert.equal(ca.publicKey.length, 65);
    const hostKey = p256Key('p256 host'); // a P-256 ECDH key is a point of the same form
    const host = signCertificateV2(
      { details: hostDetails(), curve: Curve.P256, publicKey: signingPublicKey(hostKey) },
      ca,
      caKey,
    );
    assert.ok(checkSignatureV2(ca, ca.publicKey));
    assert.ok(checkSignatureV2(host, ca.publicKey));
    assert.equal(checkSignatureV2(host, host.publicKey), false);
    const back = unmarshalCertificateV2(marshalCertificateV2(host));
    assert.equal(back.curve, Curve.P256);
    assert.ok(checkSignatureV2(back, ca.publicKey));

    const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const sOf = (sig: Uint8Array): bigint => {
      const seq = new DerReader(new DerReader(sig).read(0x30));
      seq.read(0x02);
      return BigInt('0x' + Buffer.from(seq.read(0x02)).toString('hex'));
    };
    // ECDSA signatures are random: half would be high-S unfolded, so 16 all low-S is no accident (2^-16).
    for (let i = 0; i < 16; i++) {
      const again = signCertificateV2(
        { details: hostDetails(), curve: Curve.P256, publicKey: signingPublicKey(hostKey) },
        ca,
        caKey,
      );
      assert.ok(sOf(again.signature) <= order / 2n, 'low-S');
    }
    const s = sOf(host.signature);
    // The high-S twin of the same signature: folding it gives back the signature, and it verifies too.
    const r = new DerReader(new DerReader(host.signature).read(0x30)).read(0x02);
    const highS = (order - s).toString(16).padStart(64, '0');
    const intOf = (hex: string) => {
      const b = Buffer.from(hex, 'hex');
      return b[0] & 0x80 ? Buffer.concat([Buffer.of(0), b]) : b;
    };
    const rr = intOf(Buffer.from(r).toString('hex').replace(/^00/, ''));
    const ss = intOf(highS);
    const high = Buffer.concat([
      Buffer.of(0x30, rr.length + ss.length + 4, 0x02, rr.length),
      rr,
      Buffer.of(0x02, ss.length),
      ss,
    ]);
    assert.ok(checkSignatureV2({ ...host, signature: new Uint8Array(high) }, ca.publicKey));
    assert.equal(
      Buffer.from(p256LowS(new Uint8Array(high))).toString('hex'),
      Buffer.from(host.signature).toString('hex'),
    );
  });

  it("refuses what Nebula's Sign refuses", () => {
    const key = ed25519Key('ca seed');
    const pub = signingPublicKey(key);
    const ca = signCertificateV2(
      {
        details: caDetails({ networks: [parseIpPrefix('10.1.0.0/16')], groups: ['web', 'db'] }),
        curve: Curve.CURVE25519,
        publicKey: pub,
      },
      null,
      key,
    );
    const hostPub = new Uint8Array(32).fill(3);
    const sign = (d: Partial<CertDetailsV2>, k: SigningKey = key, curve: number = Curve.CURVE25519) =>
      signCertificateV2({ details: hostDetails(d), curve, publicKey: hostPub }, ca, k);
    const code = (c: string) => (e: unknown) =>
      (e instanceof CertError || e instanceof CertVerifyError) && e.code === c;

    assert.throws(() => sign({}, p256Key('x'), Curve.CURVE25519), code('ECERTCURVE'));
    assert.throws(
      () => signCertificateV2({ details: hostDetails(), curve: Curve.CURVE25519, publicKey: hostPub }, null, key),
      /self signed certificates must have IsCA set to true/,
    );
    assert.throws(() => sign({ isCA: true }), /can not sign a CA certificate with another/);
    assert.throws(() => sign({ networks: [parseIpPrefix('10.2.0.1/24')] }), code('ECERTNETWORK'));
    assert.throws(
      () => sign({ networks: [parseIpPrefix('10.1.0.1/8')] }),
      code('ECERTNETWORK'),
      'a shorter prefix than the CA',
    );
    assert.throws(
      () => sign({ networks: [parseIpPrefix('fd00::1/64')] }),
      code('ECERTNETWORK'),
      'v6 inside a v4-only CA',
    );
    assert.throws(() => sign({ groups: ['ops'] }), code('ECERTGROUP'));
    assert.throws(() => sign({ notAfter: NOW + 200_000 }), code('ECERTEXPIRESAFTERCA'));
    assert.throws(() => sign({ notBefore: NOW - 1000 }), code('ECERTVALIDBEFORECA'));
    assert.throws(() => sign({ networks: [] }), code('ECERTPROPERTIES'));

    const host = sign({ networks: [parseIpPrefix('10.1.9.9/24'), parseIpPrefix('10.1.0.2/16')] });
    assert.equal(host.details.issuer, fingerprintV2(ca));
    assert.deepEqual(
      host.details.networks.map(formatIpPrefix),
      ['10.1.0.2/16', '10.1.9.9/24'],
      'sorted before signing',
    );
    assert.ok(checkSignatureV2(host, ca.publicKey));
  });
});
