import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fingerprint, unmarshalHandshakeCertificate } from '../../pkg/cert/index.js';
import {
  decodeHandshakePayload,
  encodeHandshakePayload,
  payloadCertVersion,
  type HandshakeDetails,
} from '../../pkg/handshake/payload.js';
import { formatIpv4 } from '../../pkg/ip/ipv4.js';
import { ProtobufError } from '../../pkg/protobuf/protobuf.js';

// The NebulaHandshake payload (docs/wire-format.md, "Handshake") against payloads nebula 1.6.1 produced. Stage 1
// travels in cleartext; the stage 2 payload was decrypted by the scripted initiator that received it (the capture is
// described in lighthouse-meta.test.ts). Host "n" (10.99.0.5/24) initiated to us; lighthouse "lh" (10.99.0.1/24)
// answered our stage 1, whose InitiatorIndex was 0x11111111.

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const NEBULA_STAGE1 =
  '0a 93 01 0a 80 01 0a 3c 0a 01 6e 12 09 85 80 8c 53 80 fe ff ff 0f 28 da fb 91 d8 06 30 d9 e2 96 e7 06 4a 20 f4 b4' +
  ' af e9 16 0a 90 53 da e2 fb ae 4d 80 bf eb e2 91 ac e2 d1 92 5f e5 11 17 31 18 0c b1 9c 22 12 40 e9 58 ba 13 bc 01' +
  ' 2f a4 cf 5a 3e 66 d4 e9 3c 16 2d b1 42 68 1e 17 12 16 5e 3a 6b 55 07 84 5a ca 99 70 3a dc 42 1e 5f eb ec 0d da 70' +
  ' a0 87 2f 60 07 ff ac 52 5f 67 8d c5 bc 25 f5 17 4f 3f 82 06 10 e7 bf ae d8 0f 28 fb 82 fd c4 a7 c6 af f5 18';
const NEBULA_STAGE2 =
  '0a 9a 01 0a 81 01 0a 3d 0a 02 6c 68 12 09 81 80 8c 53 80 fe ff ff 0f 28 da fb 91 d8 06 30 d9 e2 96 e7 06 4a 20 f4' +
  ' b4 af e9 16 0a 90 53 da e2 fb ae 4d 80 bf eb e2 91 ac e2 d1 92 5f e5 11 17 31 18 0c b1 9c 22 12 40 37 7c b0 a5 c6' +
  ' 0b 87 81 08 87 c1 b8 67 e1 e5 68 fa 4f 8d ce 76 d2 dd 63 6c 4d 1c a0 22 8f 9b 82 4a c7 6d 5c 4d 6b 63 65 7c f3 d2' +
  ' df c2 5f 26 2e bf c9 20 08 92 38 c3 42 08 12 bc b0 11 cd d1 07 10 91 a2 c4 88 01 18 eb f7 f6 ee 06 28 ad af 9b d8' +
  ' a0 c6 af f5 18';
/** Host n's X25519 public key and fingerprint, as `nebula-cert print` showed them. */
const N_PUBLIC_KEY = 'db8a9141a94d40a3ea6d99ac16d02346a3985bccf1aced8bd5e19780ccae5c7d';
const N_FINGERPRINT = '4cf68334687c0eef07cd4f17f1a63e92f64baf1d886e851334231d7b57f73850';

test("nebula 1.6.1's stage 1 payload decodes: certificate, initiator index, no responder index, time in ns", () => {
  const d = decodeHandshakePayload(bytes(NEBULA_STAGE1));
  assert.equal(d.initiatorIndex, 0xfb0b9fe7);
  assert.equal(d.responderIndex, 0);
  assert.equal(d.time, 1795456525441909115n);
  const cert = unmarshalHandshakeCertificate(d.cert, bytes(N_PUBLIC_KEY));
  assert.equal(cert.details.name, 'n');
  assert.equal(formatIpv4(cert.details.ips[0].ip), '10.99.0.5');
  assert.equal(cert.details.ips[0].mask, 0xffffff00);
  // The certificate came without its public key; with the key put back it is byte-identical to the signed one.
  assert.equal(fingerprint(cert), N_FINGERPRINT);
});

test("nebula 1.6.1's stage 2 payload echoes our initiator index and carries its responder index", () => {
  const d = decodeHandshakePayload(bytes(NEBULA_STAGE2));
  assert.equal(d.initiatorIndex, 0x11111111);
  assert.equal(d.responderIndex, 0x6dddbbeb);
  assert.equal(d.time, 1795456523603204013n);
  assert.equal(unmarshalHandshakeCertificate(d.cert, new Uint8Array(32)).details.name, 'lh');
});

test("encoding nebula's decoded payloads reproduces its bytes exactly, the Unix-ns time included", () => {
  for (const golden of [NEBULA_STAGE1, NEBULA_STAGE2].map(bytes)) {
    assert.equal(hex(encodeHandshakePayload(decodeHandshakePayload(golden))), hex(golden));
  }
});

test('a payload round trips through encode and decode', () => {
  const cases: HandshakeDetails[] = [
    { cert: bytes('0a0568656c6c6f'), initiatorIndex: 1, responderIndex: 0, time: BigInt(Date.now()) * 1_000_000n },
    { cert: new Uint8Array(300).fill(7), initiatorIndex: 0xffffffff, responderIndex: 0x80000000, time: 2n ** 62n },
    { cert: bytes('00'), initiatorIndex: 0x12345678, responderIndex: 0x9abcdef0, time: 1n },
  ];
  for (const d of cases) {
    const back = decodeHandshakePayload(encodeHandshakePayload(d));
    assert.deepEqual({ ...back, cert: hex(back.cert) }, { ...d, cert: hex(d.cert) });
  }
});

test('zero indexes, zero time and an empty certificate are omitted, and Details is still written', () => {
  const encoded = encodeHandshakePayload({ cert: new Uint8Array(0), initiatorIndex: 0, responderIndex: 0, time: 0n });
  assert.equal(hex(encoded), '0a00');
  assert.deepEqual(decodeHandshakePayload(encoded), {
    cert: new Uint8Array(0),
    initiatorIndex: 0,
    responderIndex: 0,
    time: 0n,
  });
});

test('fields are written in ascending order: Cert, InitiatorIndex, ResponderIndex, Time', () => {
  const encoded = encodeHandshakePayload({ cert: bytes('aa'), initiatorIndex: 2, responderIndex: 3, time: 5n });
  assert.equal(hex(encoded), '0a09' + '0a01aa' + '1002' + '1803' + '2805');
});

test('the unused Cookie and Hmac fields and unknown fields are ignored', () => {
  // Details { Cert: aa, InitiatorIndex: 2, Cookie (4): 9, reserved 6: 1 } and NebulaHandshake.Hmac (2): bb
  const d = decodeHandshakePayload(bytes('0a 09 0a 01 aa 10 02 20 09 30 01 12 01 bb'));
  assert.deepEqual({ ...d, cert: hex(d.cert) }, { cert: 'aa', initiatorIndex: 2, responderIndex: 0, time: 0n });
});

test('a payload without Details is rejected', () => {
  assert.throws(() => decodeHandshakePayload(new Uint8Array(0)), ProtobufError);
  assert.throws(() => decodeHandshakePayload(bytes('12 01 bb')), ProtobufError);
});

test('truncated and random payloads throw ProtobufError and nothing else', () => {
  const full = bytes(NEBULA_STAGE1);
  for (let n = 0; n < full.length; n++)
    assert.throws(() => decodeHandshakePayload(full.subarray(0, n)), ProtobufError, `${n} bytes`);
  let s = 99;
  const rand = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x1_0000_0000;
  };
  for (let i = 0; i < 10_000; i++) {
    const buf = Uint8Array.from(full);
    for (let k = 0; k < 3; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
    try {
      decodeHandshakePayload(buf);
    } catch (e) {
      assert.ok(e instanceof ProtobufError, `${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

// CertVersion (field 8, Nebula 1.10+): docs/certificates-v2.md, "Handshakes".

test('CertVersion 2 is written as field 8 after Time and round trips', () => {
  const d: HandshakeDetails = { cert: bytes('30 00'), initiatorIndex: 2, responderIndex: 3, time: 5n, certVersion: 2 };
  const encoded = encodeHandshakePayload(d);
  assert.equal(hex(encoded), '0a0c' + '0a023000' + '1002' + '1803' + '2805' + '4002');
  assert.deepEqual({ ...decodeHandshakePayload(encoded), cert: '3000' }, { ...d, cert: '3000' });
  assert.equal(payloadCertVersion(decodeHandshakePayload(encoded)), 2);
});

test('a v1 payload has no CertVersion field: byte for byte what nebula 1.6.1 writes', () => {
  for (const certVersion of [undefined, 0]) {
    const encoded = encodeHandshakePayload({
      cert: bytes('aa'),
      initiatorIndex: 2,
      responderIndex: 3,
      time: 5n,
      certVersion,
    });
    assert.equal(hex(encoded), '0a09' + '0a01aa' + '1002' + '1803' + '2805');
  }
  // nebula 1.6.1's own stage 1 names no version, which means v1.
  assert.equal(payloadCertVersion(decodeHandshakePayload(bytes(NEBULA_STAGE1))), 1);
});

test('CertVersion 0 or absent and 1 (what Nebula 1.10 writes for v1) mean v1; other values are unknown', () => {
  const withVersion = (v: string): HandshakeDetails => decodeHandshakePayload(bytes(`0a 07 0a 01 aa 10 02 40 ${v}`));
  assert.equal(payloadCertVersion(withVersion('00')), 1);
  assert.equal(payloadCertVersion(withVersion('01')), 1);
  assert.equal(payloadCertVersion(withVersion('02')), 2);
  assert.equal(payloadCertVersion(withVersion('03')), null);
  assert.equal(payloadCertVersion(withVersion('7f')), null);
});
