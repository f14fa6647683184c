// A CA pool remembers the certificates whose signature one of its CAs verified (CaPool.signatureVerified), so a node
// that re-handshakes with the same certificate costs no second Ed25519 verification; every other rule still runs.
//
// To see whether the signature was checked again, the tests change the CA's public key in place afterwards: a
// certificate checked again then fails its signature, a remembered one does not.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaPool } from '../../pkg/cert/ca-pool.js';
import { CertVerifyError } from '../../pkg/cert/errors.js';
import { fingerprint } from '../../pkg/cert/signature.js';
import type { NebulaCertificate } from '../../pkg/cert/types.js';
import { DAY, T0, makeCa, makeHost, type TestCa } from '../fixtures/cert/make-certs.js';

function poolOf(ca: TestCa, maxRemembered?: number): CaPool {
  const pool = new CaPool(maxRemembered);
  pool.addCa(ca.cert);
  return pool;
}

/** Flips a bit of the pooled CA's public key: from now on no signature of the real CA verifies. */
function spoilCaKey(pool: CaPool, ca: TestCa): void {
  pool.getCa(ca.fp)!.details.publicKey[0] ^= 1;
}

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof CertVerifyError && e.code === code, `expected ${code}`);
}

describe('a CA pool remembering verified signatures', () => {
  it('does not check the signature of a certificate it verified before, and still checks every other one', () => {
    const ca = makeCa();
    const pool = poolOf(ca);
    const seen = makeHost(ca, { name: 'seen' });
    const seenByVerifyAny = makeHost(ca, { name: 'seen by verifyAny' });
    const unseen = makeHost(ca, { name: 'unseen' });
    pool.verify(seen, T0);
    pool.verifyAny(seenByVerifyAny, T0);
    assert.equal(pool.signaturesRemembered, 2);
    spoilCaKey(pool, ca);
    assert.equal(pool.verify(seen, T0), ca.cert);
    assert.equal(pool.verifyAny(seenByVerifyAny, T0), ca.cert);
    rejects(() => pool.verify(unseen, T0), 'ECERTSIGNATURE');
    rejects(() => pool.verifyAny(unseen, T0), 'ECERTSIGNATURE');
    assert.equal(pool.signaturesRemembered, 2, 'a failed signature is not remembered');
  });

  it('still refuses a remembered certificate that is blocklisted, expired, or under an expired CA', () => {
    const ca = makeCa({ notAfter: T0 + 100 * DAY });
    const pool = poolOf(ca);
    const host = makeHost(ca, { notAfter: T0 + 10 * DAY });
    pool.verify(host, T0);
    pool.setBlocklist([fingerprint(host)]);
    rejects(() => pool.verify(host, T0), 'ECERTBLOCKED');
    rejects(() => pool.verifyAny(host, T0), 'ECERTBLOCKED');
    pool.setBlocklist([]);
    rejects(() => pool.verify(host, T0 + 20 * DAY), 'ECERTEXPIRED');
    rejects(() => pool.verifyAny(host, T0 + 20 * DAY), 'ECERTEXPIRED');
    rejects(() => pool.verify(host, T0 + 200 * DAY), 'ECERTCAEXPIRED');
    assert.equal(pool.verify(host, T0), ca.cert);
    // Another pool (a reload) knows nothing of it: without the CA the certificate is refused.
    rejects(() => poolOf(makeCa()).verify(host, T0), 'ECERTUNKNOWNCA');
  });

  it('refuses a certificate with the details of a remembered one and another signature', () => {
    const ca = makeCa();
    const pool = poolOf(ca);
    const host = makeHost(ca);
    pool.verify(host, T0);
    const signature = Uint8Array.from(host.signature);
    signature[10] ^= 1;
    const forged: NebulaCertificate = { details: host.details, signature };
    rejects(() => pool.verify(forged, T0), 'ECERTSIGNATURE');
    rejects(() => pool.verifyAny(forged, T0), 'ECERTSIGNATURE');
  });

  it('keys its memory on the fingerprint it computes itself: a remembered one passed along with a forgery opens nothing', () => {
    const ca = makeCa();
    const pool = poolOf(ca);
    const good = makeHost(ca, { name: 'good' });
    pool.verify(good, T0);
    const other = makeHost(ca, { name: 'forged' });
    const signature = Uint8Array.from(other.signature);
    signature[3] ^= 1;
    const forged: NebulaCertificate = { details: other.details, signature };
    // Called as the pool of 307b519 was (a caller-supplied fingerprint decided whether the signature was checked).
    const withFingerprint = (method: 'verify' | 'verifyAny') => () =>
      Reflect.apply(pool[method], pool, [forged, T0, fingerprint(good)]) as unknown;
    rejects(withFingerprint('verify'), 'ECERTSIGNATURE');
    rejects(withFingerprint('verifyAny'), 'ECERTSIGNATURE');
  });

  it('remembers at most its bound, forgetting the oldest first', () => {
    const ca = makeCa();
    const pool = poolOf(ca, 2);
    const hosts = [0, 1, 2].map((i) => makeHost(ca, { name: `host ${i}` }));
    for (const h of hosts) pool.verify(h, T0);
    assert.equal(pool.signaturesRemembered, 2);
    spoilCaKey(pool, ca);
    rejects(() => pool.verify(hosts[0], T0), 'ECERTSIGNATURE');
    assert.equal(pool.verify(hosts[1], T0), ca.cert);
    assert.equal(pool.verify(hosts[2], T0), ca.cert);
  });
});
