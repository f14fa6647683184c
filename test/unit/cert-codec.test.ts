import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { marshalCertificate, marshalCertificateForHandshake, marshalDetails } from '../../pkg/cert/cert-marshal.js';
import { unmarshalCertificate, unmarshalHandshakeCertificate } from '../../pkg/cert/cert-unmarshal.js';
import { CertError } from '../../pkg/cert/errors.js';
import { formatNet } from '../../pkg/cert/net-text.js';
import { fingerprint } from '../../pkg/cert/signature.js';
import type { CertDetails, NebulaCertificate } from '../../pkg/cert/types.js';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { makeCa, makeHost } from '../fixtures/cert/make-certs.js';

function details(over: Partial<CertDetails> = {}): CertDetails {
  return {
    name: 'host1',
    ips: [parseCidr('10.1.2.3/16')],
    subnets: [parseCidr('192.168.5.0/24')],
    groups: ['a', 'b'],
    notBefore: 1_700_000_000,
    notAfter: 1_800_000_000,
    publicKey: new Uint8Array(32).fill(7),
    isCA: false,
    issuer: 'ab'.repeat(32),
    ...over,
  };
}

function cert(over: Partial<CertDetails> = {}): NebulaCertificate {
  return { details: details(over), signature: new Uint8Array(64).fill(9) };
}

function assertDecodeError(bytes: Uint8Array, message?: RegExp): void {
  assert.throws(
    () => unmarshalCertificate(bytes),
    (e: unknown) => e instanceof CertError && e.code === 'ECERTDECODE' && (!message || message.test(e.message)),
  );
}

/** Field 1 wrapping `detailsHex`, plus a 64-byte signature field. */
function wrap(detailsHex: string): Uint8Array {
  const d = hexToBytes(detailsHex);
  return new Uint8Array([0x0a, d.length, ...d, 0x12, 64, ...new Uint8Array(64)]);
}
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 128; n >>>= 7) out.push((n & 127) | 128);
  return [...out, n];
}

const PK_FIELD = '3a20' + '07'.repeat(32);

describe('certificate codec', () => {
  it('encodes an IP and mask as packed varints of the big-endian address (docs/wire-format.md example)', () => {
    const bytes = marshalDetails(
      details({
        name: '',
        subnets: [],
        groups: [],
        notBefore: 0,
        notAfter: 0,
        publicKey: new Uint8Array(0),
        issuer: '',
      }),
    );
    assert.equal(bytesToHex(bytes), '1209838484508080fcff0f');
  });

  it('writes the fields in ascending order and omits zero values', () => {
    const hex = bytesToHex(marshalDetails(details()));
    assert.ok(hex.startsWith('0a05' + bytesToHex(new TextEncoder().encode('host1')) + '1209'));
    assert.ok(hex.includes('22016122016228')); // groups "a", "b", then NotBefore
    assert.ok(!hex.includes('4001')); // IsCA false is omitted
    assert.ok(hex.endsWith('4a20' + 'ab'.repeat(32)));
    const ca = bytesToHex(marshalDetails(details({ isCA: true, issuer: '' })));
    assert.ok(ca.endsWith(PK_FIELD + '4001'));
  });

  it('round-trips every field', () => {
    const c = cert({ ips: [parseCidr('10.1.2.3/16'), parseCidr('172.16.0.1/12')], groups: ['ops', '', 'ünï'] });
    assert.deepEqual(unmarshalCertificate(marshalCertificate(c)), c);
  });

  it('round-trips an empty details record, keeping field 1 present', () => {
    const c: NebulaCertificate = {
      details: {
        name: '',
        ips: [],
        subnets: [],
        groups: [],
        notBefore: 0,
        notAfter: 0,
        publicKey: new Uint8Array(32),
        isCA: false,
        issuer: '',
      },
      signature: new Uint8Array(0),
    };
    const bytes = marshalCertificate(c);
    assert.equal(bytesToHex(bytes), '0a22' + '3a20' + '00'.repeat(32));
    assert.deepEqual(unmarshalCertificate(bytes), c);
  });

  it('round-trips negative and large times (int64 two’s complement, 10 bytes when negative)', () => {
    const c = cert({ notBefore: -1, notAfter: 2 ** 40 });
    const bytes = marshalCertificate(c);
    assert.ok(bytesToHex(bytes).includes('28ffffffffffffffffff01'));
    assert.deepEqual(unmarshalCertificate(bytes).details, c.details);
  });

  it('keeps a leading byte-order mark in a name (strings are not normalised)', () => {
    const c = cert({ name: '\ufeffname' });
    assert.equal(unmarshalCertificate(marshalCertificate(c)).details.name, '\ufeffname');
  });

  it('skips unknown fields of every wire type and drops them on re-marshal', () => {
    // field 31 varint, 17 fixed64, 26 fixed32, 30 bytes, group 31 { field 31 varint }
    const extra =
      'f801' + '01' + '8901' + '0000000000000000' + 'd501' + '00000000' + 'f201' + '0101' + 'fb01' + 'f80105' + 'fc01';
    const canonical = marshalCertificate(cert());
    const d = marshalDetails(cert().details);
    const withUnknown = new Uint8Array([
      ...hexToBytes(extra),
      0x0a,
      ...varint(d.length + extra.length / 2),
      ...d,
      ...hexToBytes(extra),
      0x12,
      64,
      ...new Uint8Array(64).fill(9),
    ]);
    const decoded = unmarshalCertificate(withUnknown);
    assert.deepEqual(decoded, cert());
    assert.deepEqual(marshalCertificate(decoded), canonical);
  });

  it('treats a known field number with an unexpected wire type as an unknown field', () => {
    // field 1 (Name) sent as a varint, field 5 (NotBefore) sent as bytes
    const c = unmarshalCertificate(wrap('0805' + '2a0101' + PK_FIELD));
    assert.equal(c.details.name, '');
    assert.equal(c.details.notBefore, 0);
  });

  it('accepts repeated uint32s in unpacked form too', () => {
    const c = unmarshalCertificate(wrap('10' + '83848450' + '10' + '8080fcff0f' + PK_FIELD));
    assert.deepEqual(c.details.ips, [parseCidr('10.1.2.3/16')]);
  });

  it('merges a Details field sent twice (later scalars win, repeated fields accumulate)', () => {
    const first = hexToBytes('0a0161' + '2201' + '78' + PK_FIELD);
    const second = hexToBytes('0a0162' + '2201' + '79');
    const bytes = new Uint8Array([0x0a, first.length, ...first, 0x0a, second.length, ...second]);
    const c = unmarshalCertificate(bytes);
    assert.equal(c.details.name, 'b');
    assert.deepEqual(c.details.groups, ['x', 'y']);
  });

  it('keeps only the low 32 bits of an oversized uint32 varint, as Go does', () => {
    const c = unmarshalCertificate(wrap('1206' + 'ffffffff1f' + '00' + PK_FIELD));
    assert.deepEqual(c.details.ips, [{ ip: 0xffffffff, mask: 0 }]);
  });

  it('refuses empty input, a missing Details field, odd IP and subnet lists and short public keys', () => {
    assertDecodeError(new Uint8Array(0), /empty/);
    assertDecodeError(hexToBytes('1240' + '00'.repeat(64)), /Details was nil/);
    assertDecodeError(wrap('1201' + '01' + PK_FIELD), /IPs should be in pairs/);
    assertDecodeError(wrap('1a01' + '01' + PK_FIELD), /Subnets should be in pairs/);
    assertDecodeError(wrap('3a1f' + '07'.repeat(31)), /fewer than 32 bytes/);
    assertDecodeError(wrap(''), /fewer than 32 bytes/);
  });

  it('refuses malformed protobuf: truncation, bad varints, bad tags, invalid UTF-8, unbalanced groups', () => {
    assertDecodeError(hexToBytes('0a05' + '0a01'), /truncated/);
    assertDecodeError(hexToBytes('0a' + 'ff'.repeat(11)), /varint/);
    assertDecodeError(hexToBytes('0a' + 'ff'.repeat(9) + '02'), /overflows/);
    assertDecodeError(hexToBytes('00'), /field number/);
    assertDecodeError(hexToBytes('0e'), /wire type/);
    assertDecodeError(hexToBytes('0c'), /end group/);
    assertDecodeError(hexToBytes('0b'), /unterminated group/);
    assertDecodeError(hexToBytes('0b14'), /mismatched end group/);
    assertDecodeError(wrap('0a02c328' + PK_FIELD), /UTF-8/);
    assertDecodeError(wrap('2a01' + PK_FIELD + '2802'), undefined);
  });

  it('refuses times that a JavaScript number cannot hold exactly', () => {
    assertDecodeError(wrap('28' + 'ffffffffffffffff7f' + PK_FIELD), /out of range/);
  });

  it('refuses to encode an issuer that is not hex, a fractional time or a lone surrogate', () => {
    for (const over of [{ issuer: 'xyz' }, { notAfter: 1.5 }, { name: '\ud800' }] as Partial<CertDetails>[]) {
      assert.throws(() => marshalDetails(details(over)), { name: 'CertError', code: 'ECERTENCODE' });
    }
  });
});

describe('network text', () => {
  it('prints prefix masks as /n and other masks in hex, as Go does', () => {
    assert.equal(formatNet(parseCidr('10.1.2.3/16')), '10.1.2.3/16');
    assert.equal(formatNet({ ip: 0x0a010203, mask: 0xff00ff00 }), '10.1.2.3/ff00ff00');
    assert.equal(formatNet({ ip: 0, mask: 0 }), '0.0.0.0/0');
  });
});

describe('handshake form of a certificate', () => {
  it('omits the public key and nothing else', () => {
    const c = cert();
    const full = marshalCertificate(c);
    const short = marshalCertificateForHandshake(c);
    assert.equal(short.length, full.length - 34);
    assert.ok(!bytesToHex(short).includes(PK_FIELD));
  });

  it('is restored with the Noise static key to the same fingerprint as the file on disk', () => {
    const ca = makeCa();
    const host = makeHost(ca);
    const wire = marshalCertificateForHandshake(host);
    const restored = unmarshalHandshakeCertificate(wire, host.details.publicKey);
    assert.deepEqual(restored, host);
    assert.equal(fingerprint(restored), fingerprint(host));
  });

  it('replaces any public key the peer did send with the Noise static key', () => {
    const c = cert();
    const other = new Uint8Array(32).fill(1);
    assert.deepEqual(unmarshalHandshakeCertificate(marshalCertificate(c), other).details.publicKey, other);
  });

  it('is refused when the Details field is missing or the Noise key is short', () => {
    assert.throws(() => unmarshalHandshakeCertificate(hexToBytes('1201' + '00'), new Uint8Array(32)), {
      code: 'ECERTDECODE',
    });
    assert.throws(() => unmarshalHandshakeCertificate(marshalCertificateForHandshake(cert()), new Uint8Array(16)), {
      code: 'ECERTDECODE',
    });
  });
});
