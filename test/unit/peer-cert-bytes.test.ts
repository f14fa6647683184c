import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fingerprint, marshalCertificateForHandshake, PeerCertBytes } from '../../pkg/cert/index.js';
import { makeHostCert, makeTestCa } from './helpers/pki.js';

// A tunnel keeps its peer's certificate as the handshake's bytes (key stripped, as Nebula sends it) plus the
// peer's static key, and decodes it when asked: what comes back must be the certificate that was verified.

test('a stored peer certificate decodes to the verified certificate, public key and signature included', () => {
  const ca = makeTestCa('stored CA');
  const host = makeHostCert(ca, {
    ip: '10.99.0.7/24',
    name: 'stored-host',
    groups: ['web', 'ops'],
    subnets: ['10.200.0.0/16'],
  });
  const onWire = marshalCertificateForHandshake(host.cert);
  const stored = new PeerCertBytes(onWire, host.cert.details.publicKey);

  // The caller's buffers may be reused for the next packet: the stored form must not alias them.
  onWire.fill(0);
  const decoded = stored.decode();
  assert.deepEqual(decoded, host.cert);
  assert.equal(fingerprint(decoded), host.fingerprint);
  // Every decode is a fresh object: a caller changing one cannot change the tunnel's certificate.
  decoded.details.groups.push('root');
  assert.deepEqual(stored.decode().details.groups, ['web', 'ops']);
});
