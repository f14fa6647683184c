import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { anyCertificateToPem, Curve, generateX25519KeyPair, signCertificateV2, signingPublicKey } from '../../pkg/cert/index.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { ed25519Key } from '../unit/helpers/cert-v2-keys.js';
import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import { signHostCert } from './lab/pki.js';
import { waitFor } from './lab/wait.js';

// A mesh node given the files of a Nebula 1.10 migration network (pki.ca holding a v2 CA next to the v1 CA, pki.cert
// holding the host's v2 certificate next to its v1 one) starts, warns once for each, and talks to nebula 1.6.1
// with its v1 certificate, as a Nebula 1.9.5 build without v2 would.

/** A v2 CA and a v2 host certificate it signed, as PEM (the daemon only has to pass over them). */
function v2Pems(): { ca: string; host: string } {
  const key = ed25519Key('e2e v2 ca');
  const now = Math.floor(Date.now() / 1000);
  const base = { unsafeNetworks: [], groups: [], notBefore: now - 60, issuer: '' };
  const ca = signCertificateV2(
    { details: { ...base, name: 'v2 CA', networks: [], isCA: true, notAfter: now + 3600 }, curve: Curve.CURVE25519, publicKey: signingPublicKey(key) },
    null,
    key,
  );
  const host = signCertificateV2(
    {
      details: { ...base, name: 'one', networks: [parseIpPrefix('10.99.0.1/24'), parseIpPrefix('fd99::1/64')], isCA: false, notAfter: now + 1800 },
      curve: Curve.CURVE25519,
      publicKey: generateX25519KeyPair().publicKey,
    },
    ca,
    key,
  );
  return { ca: anyCertificateToPem(ca), host: anyCertificateToPem(host) };
}

test('mesh runs with v2 blocks in pki.ca and pki.cert, warns once each, and pings nebula 1.6.1 over v1', { timeout: 30_000 }, async (t) => {
  const lab = await Lab.create(t);
  const [h1, h2] = await lab.flat(2);
  const net = await OverlayNet.create(lab);
  const v1 = await signHostCert(net.dir, net.ca, { name: 'one-v1', vpnCidr: '10.99.0.1/24' });
  const v2 = v2Pems();
  const caFile = join(net.dir, 'ca-migration.crt');
  const certFile = join(net.dir, 'one-migration.crt');
  writeFileSync(caFile, v2.ca + readFileSync(net.ca.crt, 'utf8'));
  writeFileSync(certFile, v2.host + readFileSync(v1.crt, 'utf8'));

  const one = await net.start(h1!, {
    name: 'one',
    impl: meshImpl,
    vpnIp: '10.99.0.1',
    config: { pki: { ca: caFile, cert: certFile, key: v1.key }, static_host_map: { '10.99.0.2': [`${h2!.ip}:4242`] } },
  });
  const two = await net.start(h2!, {
    name: 'two',
    impl: nebulaImpl,
    vpnIp: '10.99.0.2',
    config: { static_host_map: { '10.99.0.1': [`${h1!.ip}:4242`] } },
  });
  await one.waitForLog(/pki\.ca: skipped 1 NEBULA CERTIFICATE V2 block/, 2000);
  await one.waitForLog(/pki\.cert: skipped 1 NEBULA CERTIFICATE V2 block/, 2000);
  for (const [from, to] of [[h1!, two.vpnIp], [h2!, one.vpnIp]] as const) {
    await waitFor(async () => ((await lab.ping(from, to, { count: 1, timeoutSec: 1 })).ok ? true : null), {
      timeoutMs: 8000,
      intervalMs: 0,
      what: `ping ${to}\n${lab.logTails()}`,
    });
  }
  assert.ok(true);
});
