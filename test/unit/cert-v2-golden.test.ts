// Golden vectors for Nebula v2 certificates. No Nebula >= 1.10 binary can be installed here, so the expected bytes,
// fingerprint and JSON are the ones Nebula's own tests pin, copied as facts from slackhq/nebula, cert/cert_v2_test.go
// at tag v1.11.1 (identical at v1.10.3): TestCertificateV2_marshalForSigningStability,
// TestCertificateV2_MarshalJSON, TestUnmarshalCertificateV2 and TestCertificateV2_Unmarshal.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  anyCertificateToPem,
  bytesToSignV2,
  CaPool,
  CertError,
  checkSignatureV2,
  Curve,
  fingerprintV2,
  formatCertificateJsonV2,
  marshalCertificateV2,
  marshalCertificateV2ForHandshake,
  marshalDetailsV2,
  parseAnyCertificatesPem,
  parseX25519PrivateKeyPem,
  unmarshalCertificateV2,
  x25519PublicKey,
  type CertDetailsV2,
  type NebulaCertificateV2,
} from '../../pkg/cert/index.js';
import { formatIpPrefix, parseIpPrefix } from '../../pkg/ip/prefix.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const nets = (...t: string[]) => t.map(parseIpPrefix);

function details(over: Partial<CertDetailsV2>): CertDetailsV2 {
  return {
    name: 'testing',
    networks: nets('10.1.1.2/16', '10.1.1.1/24'),
    unsafeNetworks: nets('9.1.1.3/16', '9.1.1.2/24'),
    groups: ['test-group1', 'test-group2', 'test-group3'],
    isCA: false,
    notBefore: 0,
    notAfter: 0,
    issuer: '1234567890abcdef1234567890abcdef',
    ...over,
  };
}

function certOf(d: CertDetailsV2, publicKey: string, signature: string): NebulaCertificateV2 {
  return {
    version: 2,
    details: d,
    rawDetails: marshalDetailsV2(d),
    curve: Curve.CURVE25519,
    publicKey: ascii(publicKey),
    signature: ascii(signature),
  };
}

describe('v2 certificate golden vectors (Nebula cert/cert_v2_test.go)', () => {
  it('encodes the details and the bytes to sign exactly as Nebula (marshalForSigningStability)', () => {
    const before = Date.UTC(1996, 4, 5) / 1000;
    const d = details({ notBefore: before, notAfter: before + 60 });
    const raw = marshalDetailsV2(d);
    const expectedRaw =
      'a070800774657374696e67a10e04050a0101021004050a01010118a20e0405090101031004050901010218a3270c0b746573742d67726f7570310c0b' +
      '746573742d67726f7570320c0b746573742d67726f7570338504318bef808604318befbc87101234567890abcdef1234567890abcdef';
    assert.equal(hex(raw), expectedRaw);
    const pub = ascii('1234567890abcedfghij1234567890ab');
    assert.equal(
      hex(bytesToSignV2(raw, Curve.CURVE25519, pub)),
      expectedRaw + '00313233343536373839306162636564666768696a313233343536373839306162',
    );
  });

  it('fingerprints and prints JSON exactly as Nebula (MarshalJSON)', () => {
    // time.Date(1, 0, 0, 1, 0, 0, 0, UTC) normalises to 0000-11-30 01:00 UTC.
    const nb = Date.parse('0000-11-30T01:00:00Z') / 1000;
    const d = details({
      networks: nets('10.1.1.1/24', '10.1.1.2/16'),
      unsafeNetworks: nets('9.1.1.2/24', '9.1.1.3/16'),
      notBefore: nb,
      notAfter: nb + 3600,
      issuer: '1234567890abcedf1234567890abcedf',
    });
    const sig = '1234567890abcedf'.repeat(4);
    const c = certOf(d, '1234567890abcedf1234567890abcedf', sig);
    assert.equal(fingerprintV2(c), '152d9a7400c1e001cb76cffd035215ebb351f69eeb797f7f847dd086e15e56dd');
    const expected =
      '{"curve":"CURVE25519","details":{"groups":["test-group1","test-group2","test-group3"],"isCa":false,' +
      '"issuer":"1234567890abcedf1234567890abcedf","name":"testing","networks":["10.1.1.1/24","10.1.1.2/16"],' +
      '"notAfter":"0000-11-30T02:00:00Z","notBefore":"0000-11-30T01:00:00Z","unsafeNetworks":["9.1.1.2/24","9.1.1.3/16"]},' +
      '"fingerprint":"152d9a7400c1e001cb76cffd035215ebb351f69eeb797f7f847dd086e15e56dd",' +
      '"publicKey":"3132333435363738393061626365646631323334353637383930616263656466",' +
      '"signature":"31323334353637383930616263656466313233343536373839306162636564663132333435363738393061626365646631323334353637383930616263656466",' +
      '"version":2}';
    assert.equal(formatCertificateJsonV2(c), expected);
  });

  it('refuses a truncated envelope as "bad wire format" (TestUnmarshalCertificateV2)', () => {
    assert.throws(
      () => unmarshalCertificateV2(Uint8Array.of(0x98, 0x00, 0x00)),
      (e: unknown) => e instanceof CertError && e.code === 'ECERTDECODE' && e.message === 'bad wire format',
    );
  });

  it('round-trips, sorting networks, and the handshake form needs the key from outside (Marshal/Unmarshal)', () => {
    const pubKey = '1234567890abcedfghij1234567890ab';
    const c = certOf(
      details({ notBefore: 1_700_000_000, notAfter: 1_700_000_120 }),
      pubKey,
      '1234567890abcdef1234567890abcdef',
    );
    const full = marshalCertificateV2(c);
    const back = unmarshalCertificateV2(full);
    assert.deepEqual(
      back.details.networks.map((n) => `${n.addr.bytes.join('.')}/${n.bits}`),
      ['10.1.1.1/24', '10.1.1.2/16'],
    );
    assert.deepEqual(
      back.details.unsafeNetworks.map((n) => `${n.addr.bytes.join('.')}/${n.bits}`),
      ['9.1.1.2/24', '9.1.1.3/16'],
    );
    assert.deepEqual(
      { ...back.details, networks: [], unsafeNetworks: [] },
      { ...c.details, networks: [], unsafeNetworks: [] },
    );
    assert.equal(hex(back.rawDetails), hex(c.rawDetails), 'the signed bytes are kept, not re-encoded');
    assert.equal(hex(marshalCertificateV2(back)), hex(full));

    const noKey = marshalCertificateV2ForHandshake(c);
    assert.throws(
      () => unmarshalCertificateV2(full, ascii(pubKey)),
      (e: unknown) => e instanceof CertError && e.code === 'ECERTPUBKEYPRESENT',
    );
    assert.throws(
      () => unmarshalCertificateV2(noKey),
      (e: unknown) => e instanceof CertError && e.message === 'bad wire format',
    );
    assert.equal(hex(unmarshalCertificateV2(noKey, ascii(pubKey)).publicKey), hex(ascii(pubKey)));
  });
});

// A v2 CA and host certificate written by Nebula's own tooling (1.10 era), with the host's X25519 key, copied as
// test data from DefinedNet/mobile_nebula, lib/screens/settings_screen.dart (goodDebugSaveV2; commit 73b4d5bb).
// The host's issuer field was computed by Nebula, so it checks our fingerprint of the CA against a real binary.
const REAL_CA = `-----BEGIN NEBULA CERTIFICATE V2-----
MIHeoHiAClYyIFRlc3QgQ0GhNAQFCgEAABAEBcCoAQAYBBH9mAAAAAAAAAAAAAAA
AAABQAQR/Znu7u7u7u4AAAAAAAAAAECjJQwLdGVzdC1ncm91cDEMC3Rlc3QtZ3Jv
dXAyDAlmb29iYXJiYXqEAf+FBGkFErqGBGrmRjqCIB1M/UJegMPjdpCkNV4spaH6
48Zrc6EF6PgB0dmTjsGug0DHOiCTMm/fRkD1R3E+gtI53eTJk/gaRyphMvSJUuyJ
Yd6DdoCpAMXb7cpgDfW8PGkU/77HWjLhu5HM28YHlioC
-----END NEBULA CERTIFICATE V2-----
`;
const REAL_HOST = `-----BEGIN NEBULA CERTIFICATE V2-----
MIIBHKCBtYAMVjIgVGVzdCBIb3N0oTQEBQoBAAIQBAXAqAECGAQR/ZgAAAAAAAAA
AAAAAAAAAkAEEf2Z7u7u7u7uqqq7u8zM//JAohoEBQAAAAAABBEAAAAAAAAAAAAA
AAAAAAAAAKMlDAt0ZXN0LWdyb3VwMQwLdGVzdC1ncm91cDIMCWZvb2JhcmJheoUE
aQUSxIYEauZGOYcganAHTUvQcytewZBsfkiAhruIuQgoJ0vSpRK180ipgQuCIG06
ZRKG32WKsCKEls5eENf5QkUO6pzaGGgCdLl3rbRJg0Db4EhAHpvtNbumzMs2lamb
zkFjSWHl6qTvhA/3ZaKuD09wp9NEHhkL8l9uwz9KfSB6wHsZDC55i/HBo9YKCPIB
-----END NEBULA CERTIFICATE V2-----
`;
const REAL_HOST_KEY = `-----BEGIN NEBULA X25519 PRIVATE KEY-----
QyQYT2IxfdtDGUirKjhUMIT5O6W8CE/JzJquqQRZhFU=
-----END NEBULA X25519 PRIVATE KEY-----
`;

describe('v2 certificates written by Nebula (mobile_nebula test data)', () => {
  const [ca] = parseAnyCertificatesPem(REAL_CA) as NebulaCertificateV2[];
  const [host] = parseAnyCertificatesPem(REAL_HOST) as NebulaCertificateV2[];

  it('decodes both with every field, IPv4 and IPv6 networks and zero unsafe routes', () => {
    assert.deepEqual(
      { name: ca.details.name, isCA: ca.details.isCA, issuer: ca.details.issuer, groups: ca.details.groups },
      { name: 'V2 Test CA', isCA: true, issuer: '', groups: ['test-group1', 'test-group2', 'foobarbaz'] },
    );
    assert.deepEqual(ca.details.networks.map(formatIpPrefix), [
      '10.1.0.0/16',
      '192.168.1.0/24',
      'fd98::1/64',
      'fd99:eeee:eeee:eeee::/64',
    ]);
    assert.deepEqual(host.details.networks.map(formatIpPrefix), [
      '10.1.0.2/16',
      '192.168.1.2/24',
      'fd98::2/64',
      'fd99:eeee:eeee:eeee:aaaa:bbbb:cccc:fff2/64',
    ]);
    assert.deepEqual(host.details.unsafeNetworks.map(formatIpPrefix), ['0.0.0.0/0', '::/0']);
    assert.equal(new Date(host.details.notBefore * 1000).toISOString(), '2025-10-31T19:49:24.000Z');
    assert.equal(host.curve, Curve.CURVE25519);
  });

  it('names the CA by the fingerprint we compute, and both signatures verify', () => {
    assert.equal(fingerprintV2(ca), '6a70074d4bd0732b5ec1906c7e488086bb88b90828274bd2a512b5f348a9810b');
    assert.equal(host.details.issuer, fingerprintV2(ca));
    assert.equal(fingerprintV2(host), '383611bf9945e6a430addf536b7beca73ef7c7d584d9d1fcb575620a27e20f74');
    assert.ok(checkSignatureV2(ca, ca.publicKey));
    assert.ok(checkSignatureV2(host, ca.publicKey));
    const pool = CaPool.fromPem(REAL_CA, ca.details.notBefore + 60, { v2: 'load' });
    assert.equal(
      fingerprintV2(pool.verifyAny(host, host.details.notBefore + 60) as NebulaCertificateV2),
      fingerprintV2(ca),
    );
    assert.ok(certMatchesV2Key(host, parseX25519PrivateKeyPem(REAL_HOST_KEY)));
  });

  it('re-encodes the details and the whole certificate byte for byte as Nebula wrote them', () => {
    for (const [c, pem] of [
      [ca, REAL_CA],
      [host, REAL_HOST],
    ] as const) {
      assert.equal(hex(marshalDetailsV2(c.details)), hex(c.rawDetails));
      assert.equal(anyCertificateToPem(c), pem);
    }
  });
});

function certMatchesV2Key(c: NebulaCertificateV2, x25519Private: Uint8Array): boolean {
  return hex(x25519PublicKey(x25519Private)) === hex(c.publicKey);
}
