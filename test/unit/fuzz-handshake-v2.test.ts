import assert from 'node:assert/strict';
import { test } from 'node:test';

import { marshalCertificateV2ForHandshake } from '../../pkg/cert/index.js';
import { decodeHandshakePayload, encodeHandshakePayload, payloadCertVersion } from '../../pkg/handshake/payload.js';
import { PeerCertError, verifyPeerCert } from '../../pkg/handshake/peer-cert.js';
import { ProtobufError } from '../../pkg/protobuf/protobuf.js';
import { expectOnly, mutate, mutateProto, runFuzz } from './helpers/fuzz.js';
import { makeTestCa, nowSeconds } from './helpers/pki.js';
import { makeHost, makeTestCaV2, pkiOf } from './helpers/pki-v2.js';

// Bounded fuzzing of what a stage 1 brings since v2 handshakes (docs/certificates-v2.md, "Handshakes"): payloads
// with a CertVersion field, and v2 handshake certificates, mutated. The payload decoder fails only with
// ProtobufError; the certificate check only with PeerCertError, and accepts nothing but the genuine certificate.

const cas = { v1: makeTestCa('fuzz v1 ca'), v2: makeTestCaV2('fuzz v2 ca') };
const host = makeHost(cas, 'h', '10.98.0.1', [1, 2]);
const pool = pkiOf(host, cas).caPool;
const v2Bytes = marshalCertificateV2ForHandshake(host.v2!.v2);
const v1Bytes = pkiOf(host, cas).identity.credentials[1]!.bytes;
const key = host.v2!.publicKey;

test('fuzz: handshake payloads with CertVersion decode or fail with ProtobufError only', () => {
  const samples = [
    encodeHandshakePayload({ cert: v2Bytes, initiatorIndex: 7, responderIndex: 0, time: 10n ** 18n, certVersion: 2 }),
    encodeHandshakePayload({ cert: v1Bytes, initiatorIndex: 7, responderIndex: 9, time: 10n ** 18n }),
  ];
  const stats = runFuzz(
    'handshake payload v2',
    { iterations: 20_000, minIterations: 101, ms: 1500, seed: 0x1717 },
    (r) => {
      const input = mutateProto(r, r.pick(samples), samples);
      const out = expectOnly(
        () => decodeHandshakePayload(input),
        (e) => e instanceof ProtobufError,
        input,
      );
      if (out.ok) assert.ok([1, 2, null].includes(payloadCertVersion(out.value)));
    },
  );
  assert.ok(stats.iterations > 100, String(stats.iterations));
});

test('fuzz: mutated v2 handshake certificates are refused with PeerCertError, as either version', () => {
  const now = nowSeconds();
  assert.equal(verifyPeerCert(v2Bytes, key, pool, now, 2).fingerprint, host.v2!.fingerprint);
  let accepted = 0;
  const stats = runFuzz(
    'handshake cert v2',
    { iterations: 10_000, minIterations: 101, ms: 1500, seed: 0x2222 },
    (r) => {
      const input = mutate(r, v2Bytes, [v1Bytes], 3, 2048);
      for (const version of [1, 2] as const) {
        const out = expectOnly(
          () => verifyPeerCert(input, key, pool, now, version),
          (e) => e instanceof PeerCertError,
          input,
        );
        if (out.ok) {
          accepted++;
          // Only bytes that still carry the genuine signed details and signature can pass.
          assert.equal(out.value.fingerprint, version === 2 ? host.v2!.fingerprint : host.v1!.fingerprint);
        }
      }
    },
  );
  assert.ok(stats.iterations > 100, String(stats.iterations));
  assert.ok(accepted < stats.iterations, 'mutations are refused');
});
