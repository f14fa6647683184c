// The v2 certificate decoder accepts what Nebula's accepts and nothing more: DER framing faults and the content
// rules of cert-v2-validate.ts each refuse, Nebula's own leniencies (trailing bytes, unknown trailing details
// fields, any non-zero isCA byte) are kept, and IP prefixes print and order as Go's netip does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CertError,
  Curve,
  marshalCertificateV2,
  marshalDetailsV2,
  unmarshalCertificateV2,
  type CertDetailsV2,
  type NebulaCertificateV2,
} from '../../pkg/cert/index.js';
import { derInt64, derTlv, DerReader } from '../../pkg/cert/der.js';
import { compareIpPrefix, formatIpPrefix, parseIpAddr, parseIpPrefix } from '../../pkg/ip/prefix.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const KEY = new Uint8Array(32).fill(7);
const SIG = new Uint8Array(64).fill(9);

function details(over: Partial<CertDetailsV2> = {}): CertDetailsV2 {
  return {
    name: 'host',
    networks: [parseIpPrefix('10.0.0.1/24')],
    unsafeNetworks: [],
    groups: ['g'],
    isCA: false,
    notBefore: 1_700_000_000,
    notAfter: 1_800_000_000,
    issuer: 'ab'.repeat(32),
    ...over,
  };
}

/** A certificate around hand-made details bytes (no validation on the way in). */
function certBytes(rawDetails: Uint8Array, extra: Uint8Array[] = []): Uint8Array {
  return derTlv(0x30, rawDetails, derTlv(0x82, KEY), derTlv(0x83, SIG), ...extra);
}

function certWith(over: Partial<CertDetailsV2>): Uint8Array {
  return certBytes(marshalDetailsV2(details(over)));
}

const badFormat = (e: unknown): boolean =>
  e instanceof CertError && e.code === 'ECERTDECODE' && e.message === 'bad wire format';
const invalid =
  (text: string) =>
  (e: unknown): boolean =>
    e instanceof CertError && e.code === 'ECERTPROPERTIES' && e.message.includes(text);

// The details of certWith() with one element replaced, for faults the encoder would never write.
function detailsFrom(parts: string[]): Uint8Array {
  return derTlv(0xa0, ...parts.map(h));
}
const NAME = '80 04 686f7374';
// The same certificate with its outer length written in one more byte than needed (0x81 n -> 0x82 0x00 n).
function leadingZeroLength(cert: Uint8Array): Uint8Array {
  assert.equal(cert[1], 0x81);
  return Uint8Array.from([0x30, 0x82, 0x00, ...cert.subarray(2)]);
}
const NETS = 'a1 07 04 05 0a000001 18';
const TIMES = '85 04 6553f100 86 04 6b49d200';

describe('v2 DER framing', () => {
  it('decodes a well-formed certificate built from parts', () => {
    const c = unmarshalCertificateV2(certBytes(detailsFrom([NAME, NETS, TIMES])));
    assert.equal(c.details.name, 'host');
    assert.equal(formatIpPrefix(c.details.networks[0]), '10.0.0.1/24');
    assert.equal(c.details.notBefore, 0x6553f100);
  });

  const faults: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['not a SEQUENCE', h('31 00')],
    ['empty SEQUENCE', h('30 00')],
    [
      'length in long form below 128',
      derTlv(0x30, detailsFrom([NAME, NETS, TIMES]), derTlv(0x82, KEY), h('83 81 40'), SIG),
    ],
    ['length with a leading zero byte', leadingZeroLength(certBytes(detailsFrom([NAME, NETS, TIMES])))],
    ['indefinite length', h('30 80 0000')],
    ['five length bytes', h('30 85 0000000001 00')],
    ['multi-byte tag', h('3f 01 00')],
    ['length past the end', h('30 05 a0 03')],
    ['details missing', h('30 04 83 02 0101')],
    ['no public key', derTlv(0x30, detailsFrom([NAME, NETS, TIMES]), derTlv(0x83, SIG))],
    [
      'empty public key',
      derTlv(0x30, detailsFrom([NAME, NETS, TIMES]), derTlv(0x82, new Uint8Array(0)), derTlv(0x83, SIG)),
    ],
    ['no signature', derTlv(0x30, detailsFrom([NAME, NETS, TIMES]), derTlv(0x82, KEY))],
    [
      'empty signature',
      derTlv(0x30, detailsFrom([NAME, NETS, TIMES]), derTlv(0x82, KEY), derTlv(0x83, new Uint8Array(0))),
    ],
    [
      'two-byte curve',
      derTlv(0x30, detailsFrom([NAME, NETS, TIMES]), derTlv(0x81, h('0001')), derTlv(0x82, KEY), derTlv(0x83, SIG)),
    ],
    ['empty details', certBytes(h('a0 00'))],
    ['empty name', certBytes(detailsFrom(['80 00', NETS, TIMES]))],
    ['254-byte name', certBytes(derTlv(0xa0, derTlv(0x80, new Uint8Array(254).fill(0x61)), h(NETS), h(TIMES)))],
    ['name with a wrong tag', certBytes(detailsFrom(['0c 04 686f7374', NETS, TIMES]))],
    ['network of 6 bytes', certBytes(detailsFrom([NAME, 'a1 08 04 06 0a00000100 18', TIMES]))],
    ['network of 18 bytes', certBytes(detailsFrom([NAME, 'a1 14 04 12' + ' 00'.repeat(17) + ' 40', TIMES]))],
    ['empty network', certBytes(detailsFrom([NAME, 'a1 02 04 00', TIMES]))],
    ['network not an OCTET STRING', certBytes(detailsFrom([NAME, 'a1 07 0c 05 0a000001 18', TIMES]))],
    ['empty group', certBytes(detailsFrom([NAME, NETS, 'a3 02 0c 00', TIMES]))],
    ['two-byte isCA', certBytes(detailsFrom([NAME, NETS, '84 02 ffff', TIMES]))],
    ['non-minimal time', certBytes(detailsFrom([NAME, NETS, '85 05 006553f100 86 04 6b49d200']))],
    ['nine-byte time', certBytes(detailsFrom([NAME, NETS, '85 09 010000000000000000 86 04 6b49d200']))],
    ['notAfter missing', certBytes(detailsFrom([NAME, NETS, '85 04 6553f100']))],
    ['times out of order', certBytes(detailsFrom([NAME, NETS, '86 04 6b49d200 85 04 6553f100']))],
    ['time beyond 2^53 seconds', certBytes(detailsFrom([NAME, NETS, '85 04 6553f100 86 08 7fffffffffffffff']))],
    ['over 65536 bytes', new Uint8Array(65537)],
  ];
  for (const [what, bytes] of faults) {
    it(`refuses ${what} as bad wire format`, () => {
      assert.throws(() => unmarshalCertificateV2(bytes), badFormat);
    });
  }

  it("keeps Nebula's leniencies: bytes after the signature or the envelope, unknown trailing fields, isCA 0x01", () => {
    const base = certBytes(detailsFrom([NAME, NETS, TIMES]));
    assert.doesNotThrow(() => unmarshalCertificateV2(certBytes(detailsFrom([NAME, NETS, TIMES]), [h('84 01 00')])));
    assert.doesNotThrow(() => unmarshalCertificateV2(Uint8Array.from([...base, 0xde, 0xad])));
    const future = detailsFrom([NAME, NETS, TIMES, '87 01 ab', '88 02 0102']);
    const c = unmarshalCertificateV2(certBytes(future));
    assert.equal(c.details.issuer, 'ab');
    assert.equal(hex(c.rawDetails), hex(future), 'the unknown field stays in the signed bytes');
    const ca = unmarshalCertificateV2(certBytes(detailsFrom([NAME, '84 01 01', TIMES])));
    assert.equal(ca.details.isCA, true);
  });

  it("writes and reads minimal two's-complement integers at every width boundary", () => {
    const cases: [bigint, string][] = [
      [0n, '00'],
      [127n, '7f'],
      [128n, '0080'],
      [255n, '00ff'],
      [256n, '0100'],
      [-1n, 'ff'],
      [-128n, '80'],
      [-129n, 'ff7f'],
      [2n ** 63n - 1n, '7fffffffffffffff'],
      [-(2n ** 63n), '8000000000000000'],
    ];
    for (const [v, content] of cases) {
      const enc = derInt64(0x85, v);
      assert.equal(hex(enc), hex(derTlv(0x85, h(content))), `encode ${v}`);
      assert.equal(new DerReader(enc).readInt64(0x85), v, `decode ${v}`);
    }
  });

  it('writes long-form lengths minimally (1 and 2 length bytes)', () => {
    assert.equal(hex(derTlv(0x04, new Uint8Array(127))).slice(0, 4), '047f');
    assert.equal(hex(derTlv(0x04, new Uint8Array(128))).slice(0, 6), '048180');
    assert.equal(hex(derTlv(0x04, new Uint8Array(256))).slice(0, 8), '04820100');
    const big = derTlv(0x04, new Uint8Array(300));
    assert.equal(new DerReader(big).read(0x04).length, 300);
  });
});

describe('v2 content rules (Nebula validate)', () => {
  const rules: [string, Partial<CertDetailsV2>, string][] = [
    ['a host without networks', { networks: [] }, 'non-CA certificate must contain at least 1 network'],
    [
      'a duplicate network',
      { networks: [parseIpPrefix('10.0.0.1/24'), parseIpPrefix('10.0.0.1/24')] },
      'duplicate network detected: 10.0.0.1/24',
    ],
    ['the zero address', { networks: [parseIpPrefix('0.0.0.0/0')] }, 'must not use the zero address'],
    [
      'a 4in6 network',
      { networks: [parseIpPrefix('::ffff:10.0.0.1/120')] },
      '4in6 networks are not allowed: ::ffff:10.0.0.1/120',
    ],
    [
      'a prefix longer than the address',
      { networks: [{ addr: parseIpAddr('10.0.0.1'), bits: 33 }] },
      'invalid network',
    ],
    [
      'an IPv6 unsafe network on a v4-only host',
      { unsafeNetworks: [parseIpPrefix('fd00::/64')] },
      'IPv6 unsafe networks require an IPv6 address assignment',
    ],
    [
      'an IPv4 unsafe network on a v6-only host',
      { networks: [parseIpPrefix('fd00::1/64')], unsafeNetworks: [parseIpPrefix('192.168.0.0/24')] },
      'IPv4 unsafe networks require',
    ],
    [
      'a duplicate unsafe network',
      { unsafeNetworks: [parseIpPrefix('10.9.0.0/16'), parseIpPrefix('10.9.0.0/16')] },
      'duplicate network detected',
    ],
  ];
  for (const [what, over, message] of rules) {
    it(`refuses ${what}`, () => {
      assert.throws(() => unmarshalCertificateV2(certWith(over)), invalid(message));
    });
  }

  it('refuses a one-byte network (no address) as an invalid network', () => {
    assert.throws(
      () => unmarshalCertificateV2(certBytes(detailsFrom([NAME, 'a1 03 04 01 18', TIMES]))),
      invalid('invalid network'),
    );
  });

  it('accepts a CA without networks and with unsafe networks of any family; sorts v4 before v6', () => {
    const ca = unmarshalCertificateV2(
      certWith({
        isCA: true,
        issuer: '',
        networks: [],
        unsafeNetworks: [parseIpPrefix('fd00::/8'), parseIpPrefix('10.0.0.0/8')],
      }),
    );
    assert.deepEqual(ca.details.unsafeNetworks.map(formatIpPrefix), ['10.0.0.0/8', 'fd00::/8']);
    const dual = unmarshalCertificateV2(
      certWith({ networks: [parseIpPrefix('fd00::2/64'), parseIpPrefix('10.0.0.1/24'), parseIpPrefix('10.0.0.1/16')] }),
    );
    assert.deepEqual(dual.details.networks.map(formatIpPrefix), ['10.0.0.1/16', '10.0.0.1/24', 'fd00::2/64']);
  });

  it('re-marshals a decoded certificate byte for byte, with the curve written only when not CURVE25519', () => {
    const bytes = certWith({});
    assert.equal(hex(marshalCertificateV2(unmarshalCertificateV2(bytes))), hex(bytes));
    const p256 = derTlv(0x30, marshalDetailsV2(details()), h('81 01 01'), derTlv(0x82, KEY), derTlv(0x83, SIG));
    const c: NebulaCertificateV2 = unmarshalCertificateV2(p256);
    assert.equal(c.curve, Curve.P256);
    assert.equal(hex(marshalCertificateV2(c)), hex(p256));
  });
});

describe('IP prefixes as Go netip prints and orders them', () => {
  it('formats IPv6 as RFC 5952 and keeps a v4-mapped dotted tail', () => {
    const cases: [string, string][] = [
      ['fd00:0:0:0:0:0:0:1/64', 'fd00::1/64'],
      ['1:0:0:1:0:0:0:1/128', '1:0:0:1::1/128'],
      ['1:0:0:2:0:0:3:4/128', '1::2:0:0:3:4/128'],
      ['1:0:1:0:1:0:1:0/128', '1:0:1:0:1:0:1:0/128'],
      ['::/0', '::/0'],
      ['::ffff:1.2.3.4/128', '::ffff:1.2.3.4/128'],
      ['10.1.2.3/8', '10.1.2.3/8'],
    ];
    for (const [input, out] of cases) assert.equal(formatIpPrefix(parseIpPrefix(input)), out, input);
  });

  it('refuses what netip.ParsePrefix refuses', () => {
    for (const bad of [
      '10.0.0.1',
      '10.0.0.1/33',
      '10.0.0.1/08',
      'fd00::1/129',
      '10.0.0.01/8',
      'fe80::1%eth0/64',
      '10.0.0.1/ 8',
    ]) {
      assert.throws(() => parseIpPrefix(bad), /invalid/, bad);
    }
  });

  it('orders by family, then address, then prefix length', () => {
    const sorted = ['fd00::1/64', '10.0.0.2/8', '10.0.0.1/24', '10.0.0.1/16'].map(parseIpPrefix).sort(compareIpPrefix);
    assert.deepEqual(sorted.map(formatIpPrefix), ['10.0.0.1/16', '10.0.0.1/24', '10.0.0.2/8', 'fd00::1/64']);
  });
});
