// Fuzzing the certificate decoders a peer reaches in a handshake, and the PEM text a config holds: the protobuf
// primitives of proto-wire.ts, certificate unmarshalling (with boundary varints in every field), verification and
// printing of whatever decodes, and PEM/key text. Properties: CertError (CertVerifyError for verification) only,
// and what decodes re-marshals to a record that decodes the same. cert-fuzz.test.ts covers random bytes and
// simple edits; this file adds the shared mutators (varints, field insertion, splices).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CaPool,
  CertError,
  CertVerifyError,
  decodePemBlocks,
  fingerprint,
  formatCertificateJson,
  formatCertificateText,
  marshalCertificate,
  parseCertificatesPem,
  parseEd25519PrivateKeyPem,
  parseX25519PrivateKeyPem,
  unmarshalCertificate,
  unmarshalHandshakeCertificate,
} from '../../pkg/cert/index.js';
import { ProtoReader } from '../../pkg/cert/proto-wire.js';
import { fixture, FIXTURE_NOW } from '../fixtures/cert/make-certs.js';
import {
  expectOnly,
  hex,
  INTERESTING_INTS,
  mutate,
  mutateProto,
  mutateText,
  randomBytes,
  runFuzz,
  varintBytes,
} from './helpers/fuzz.js';

const isCertError = (e: unknown): boolean => e instanceof CertError;
const isVerifyError = (e: unknown): boolean => e instanceof CertVerifyError || e instanceof CertError;

const CERT_FILES = ['ca', 'ca-constrained', 'host1', 'host2', 'host3', 'host-expired'];
const SAMPLES = CERT_FILES.map((n) => decodePemBlocks(fixture(`${n}.crt`))[0].bytes);
const POOL = CaPool.fromPem(fixture('ca.crt') + fixture('ca-constrained.crt'), FIXTURE_NOW);
const PEER_KEY = new Uint8Array(32).fill(5);

test('fuzz proto-wire: varint64 reads every boundary value exactly, and a reader fails only with CertError', () => {
  for (const v of INTERESTING_INTS) {
    for (const width of [0, 10]) {
      const r = new ProtoReader(varintBytes(v, width));
      const { lo, hi } = r.varint64();
      assert.equal((BigInt(hi) << 32n) | BigInt(lo), v, `varint ${v} width ${width}`);
      assert.ok(r.done());
    }
  }
  runFuzz('proto-wire', { iterations: 20_000, ms: 600, seed: 0x9e1 }, (r) => {
    const b = r.chance(0.3) ? randomBytes(r, 48) : mutate(r, r.pick(SAMPLES), SAMPLES);
    expectOnly(
      () => {
        const reader = new ProtoReader(b);
        let steps = 0;
        while (!reader.done()) {
          const [num, type] = reader.tag();
          reader.skip(num, type);
          assert.ok(++steps <= b.length, 'a field takes at least one byte');
        }
      },
      isCertError,
      b,
    );
  });
});

test('fuzz certificates: mutated certificates decode or fail with CertError; what decodes verifies, prints and re-marshals', () => {
  let decoded = 0;
  runFuzz('certificate', { iterations: 6_000, minIterations: 1000, ms: 1500, seed: 0xce27 }, (r) => {
    const b = r.chance(0.5) ? mutateProto(r, r.pick(SAMPLES), SAMPLES) : mutate(r, r.pick(SAMPLES), SAMPLES);
    const viaHandshake = r.chance(0.3);
    const c = expectOnly(
      () => (viaHandshake ? unmarshalHandshakeCertificate(b, PEER_KEY) : unmarshalCertificate(b)),
      isCertError,
      b,
    );
    if (!c.ok) return;
    decoded++;
    const cert = c.value;
    assert.deepEqual(unmarshalCertificate(marshalCertificate(cert)), cert, `re-marshal of ${hex(b)}`);
    expectOnly(() => POOL.verify(cert, FIXTURE_NOW), isVerifyError, b);
    expectOnly(() => fingerprint(cert), isCertError, b);
    assert.equal(typeof formatCertificateText(cert), 'string');
    assert.doesNotThrow(() => JSON.parse(formatCertificateJson(cert)), `JSON of ${hex(b)}`);
  });
  assert.ok(decoded > 100, `only ${decoded} mutated certificates decoded: the mutations do not reach deep`);
});

test('fuzz PEM: mutated certificate bundles and key files fail only with CertError', () => {
  const texts = [fixture('ca.crt') + fixture('host1.crt'), fixture('host2.key'), fixture('ca.key')];
  runFuzz('pem', { iterations: 5_000, ms: 800, seed: 0x9e3 }, (r) => {
    const text = mutateText(r, r.pick(texts));
    expectOnly(() => parseCertificatesPem(text), isCertError, text);
    expectOnly(() => CaPool.fromPem(text, FIXTURE_NOW), isCertError, text);
    expectOnly(() => parseX25519PrivateKeyPem(text), isCertError, text);
    expectOnly(() => parseEd25519PrivateKeyPem(text), isCertError, text);
  });
});
