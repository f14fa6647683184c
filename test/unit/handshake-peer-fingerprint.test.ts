import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire, syncBuiltinESMExports } from 'node:module';

import { marshalCertificateV2ForHandshake } from '../../pkg/cert/index.js';
import { verifyPeerCert } from '../../pkg/handshake/peer-cert.js';
import { makeTestCa, nowSeconds } from './helpers/pki.js';
import { makeHost, makeTestCaV2, pkiOf } from './helpers/pki-v2.js';

// A handshake takes the peer's fingerprint once (pkg/handshake/peer-cert.ts): the blocklist check and the tunnel
// share it, instead of re-marshalling and hashing the certificate twice on every handshake a lighthouse answers.

const cas = { v1: makeTestCa('fp v1 ca'), v2: makeTestCaV2('fp v2 ca') };
const host = makeHost(cas, 'h', '10.98.0.1', [1, 2]);
const pki = pkiOf(host, cas);
const v1Bytes = pki.identity.credentials[1]!.bytes;
const v2Bytes = marshalCertificateV2ForHandshake(host.v2!.v2);
const key = host.v2!.publicKey;

/** Runs `fn` counting the SHA-256 hashes node:crypto starts (createHash and one-shot hash). */
function countSha256(fn: () => void): number {
  const crypto = createRequire(import.meta.url)('node:crypto') as {
    createHash: (alg: string, ...rest: unknown[]) => unknown;
    hash: (alg: string, ...rest: unknown[]) => unknown;
  };
  const { createHash, hash } = crypto;
  let count = 0;
  crypto.createHash = (alg, ...rest) => ((count += alg === 'sha256' ? 1 : 0), createHash(alg, ...rest));
  crypto.hash = (alg, ...rest) => ((count += alg === 'sha256' ? 1 : 0), hash(alg, ...rest));
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    Object.assign(crypto, { createHash, hash });
    syncBuiltinESMExports();
  }
  return count;
}

test('verifying a handshake certificate hashes it once, for the blocklist and the tunnel alike', () => {
  const now = nowSeconds();
  for (const [version, bytes, expected] of [
    [1, v1Bytes, host.v1!.fingerprint],
    [2, v2Bytes, host.v2!.fingerprint],
  ] as const) {
    let fingerprint = '';
    const hashes = countSha256(() => (fingerprint = verifyPeerCert(bytes, key, pki.caPool, now, version).fingerprint));
    assert.equal(fingerprint, expected, `v${version}`);
    assert.equal(hashes, 1, `v${version}: one SHA-256`);
  }
});

test('the shared fingerprint still blocks: a blocklisted certificate of either version is refused', () => {
  const now = nowSeconds();
  for (const [version, bytes, fp] of [
    [1, v1Bytes, host.v1!.fingerprint],
    [2, v2Bytes, host.v2!.fingerprint],
  ] as const) {
    const blocked = pkiOf(host, cas).caPool;
    blocked.setBlocklist([fp.toUpperCase()]);
    assert.throws(() => verifyPeerCert(bytes, key, blocked, now, version), { code: 'ECERTBLOCKED' }, `v${version}`);
  }
});
