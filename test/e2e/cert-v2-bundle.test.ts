import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  anyCertificateToPem,
  Curve,
  encodePem,
  generateX25519KeyPair,
  parseX25519PrivateKeyPem,
  signCertificateV2,
  signingPublicKey,
  x25519PublicKey,
  X25519_PRIVATE_KEY_BANNER,
  type NebulaCertificateV2,
} from '../../pkg/cert/index.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { ed25519Key } from '../unit/helpers/cert-v2-keys.js';
import { Lab, type Host } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { enableOverlayIpv6, OverlayNet } from './lab/overlay-net.js';
import { signHostCert } from './lab/pki.js';
import { waitFor } from './lab/wait.js';

// v2 certificates on the wire between real daemons (docs/certificates-v2.md, "Handshakes"):
// - a migration host (pki.ca with v1 and v2 CAs, pki.cert with its v1 and v2 certificates on one key) talks to
//   nebula 1.6.1 with its v1 certificate (pki.initiating_version defaults to 1 when a v1 certificate is held);
// - mesh nodes holding v2 certificates only find each other through a mesh lighthouse and ping both ways.

function v2Ca(label: string): NebulaCertificateV2 {
  const key = ed25519Key(label);
  const now = Math.floor(Date.now() / 1000);
  const details = {
    name: `v2 CA ${label}`,
    networks: [],
    unsafeNetworks: [],
    groups: [],
    isCA: true,
    notBefore: now - 60,
    notAfter: now + 3600,
    issuer: '',
  };
  return signCertificateV2({ details, curve: Curve.CURVE25519, publicKey: signingPublicKey(key) }, null, key);
}

function v2Host(
  label: string,
  ca: NebulaCertificateV2,
  name: string,
  networks: string[],
  publicKey: Uint8Array,
): NebulaCertificateV2 {
  const now = Math.floor(Date.now() / 1000);
  const details = {
    name,
    networks: networks.map(parseIpPrefix),
    unsafeNetworks: [],
    groups: [],
    isCA: false,
    notBefore: now - 60,
    notAfter: now + 1800,
    issuer: '',
  };
  return signCertificateV2({ details, curve: Curve.CURVE25519, publicKey }, ca, ed25519Key(label));
}

async function pingsBothWays(lab: Lab, pairs: Array<[Host, string]>): Promise<void> {
  for (const [from, to] of pairs) {
    await waitFor(async () => ((await lab.ping(from, to, { count: 1, timeoutSec: 1 })).ok ? true : null), {
      timeoutMs: 8000,
      intervalMs: 0,
      what: `ping ${to}\n${lab.logTails()}`,
    });
  }
}

test(
  'a migration host (v1+v2 CAs and certificates) pings nebula 1.6.1 over its v1 certificate',
  { timeout: 30_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [h1, h2] = await lab.flat(2);
    const net = await OverlayNet.create(lab);
    const v1 = await signHostCert(net.dir, net.ca, { name: 'one-v1', vpnCidr: '10.99.0.1/24' });
    const ca2 = v2Ca('e2e migration');
    // The v2 certificate of a migration host carries the v1 certificate's key (Nebula refuses two keys).
    const publicKey = x25519PublicKey(parseX25519PrivateKeyPem(readFileSync(v1.key, 'utf8')));
    const host2 = v2Host('e2e migration', ca2, 'one', ['10.99.0.1/24', 'fd99::1/64'], publicKey);
    const caFile = join(net.dir, 'ca-migration.crt');
    const certFile = join(net.dir, 'one-migration.crt');
    writeFileSync(caFile, anyCertificateToPem(ca2) + readFileSync(net.ca.crt, 'utf8'));
    writeFileSync(certFile, anyCertificateToPem(host2) + readFileSync(v1.crt, 'utf8'));

    // The v2 certificate has an IPv6 network too, which mesh puts on the TUN (issue 18).
    await enableOverlayIpv6(lab, h1!);
    const one = await net.start(h1!, {
      name: 'one',
      impl: meshImpl,
      vpnIp: '10.99.0.1',
      config: {
        pki: { ca: caFile, cert: certFile, key: v1.key },
        static_host_map: { '10.99.0.2': [`${h2!.ip}:4242`] },
      },
    });
    const two = await net.start(h2!, {
      name: 'two',
      impl: nebulaImpl,
      vpnIp: '10.99.0.2',
      config: { static_host_map: { '10.99.0.1': [`${h1!.ip}:4242`] } },
    });
    await pingsBothWays(lab, [
      [h1!, two.vpnIp],
      [h2!, one.vpnIp],
    ]);
    assert.ok(true);
  },
);

test(
  'mesh nodes with v2-only certificates ping each other through a mesh lighthouse',
  { timeout: 30_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb] = await lab.flat(3);
    const net = await OverlayNet.create(lab);
    const ca2 = v2Ca('e2e v2 only');
    const caFile = join(net.dir, 'ca-v2.crt');
    writeFileSync(caFile, anyCertificateToPem(ca2));
    const pki = (name: string, ip: string): { ca: string; cert: string; key: string } => {
      const keys = generateX25519KeyPair();
      const cert = join(net.dir, `${name}-v2.crt`);
      const key = join(net.dir, `${name}-v2.key`);
      writeFileSync(cert, anyCertificateToPem(v2Host('e2e v2 only', ca2, name, [`${ip}/24`], keys.publicKey)));
      writeFileSync(key, encodePem(X25519_PRIVATE_KEY_BANNER, keys.privateKey));
      return { ca: caFile, cert, key };
    };
    await net.start(hl!, {
      name: 'lh',
      impl: meshImpl,
      vpnIp: '10.99.0.1',
      lighthouse: true,
      config: { pki: pki('lh', '10.99.0.1') },
    });
    const a = await net.start(ha!, {
      name: 'a',
      impl: meshImpl,
      vpnIp: '10.99.0.2',
      config: { pki: pki('a', '10.99.0.2') },
    });
    const b = await net.start(hb!, {
      name: 'b',
      impl: meshImpl,
      vpnIp: '10.99.0.3',
      config: { pki: pki('b', '10.99.0.3') },
    });
    const started = performance.now();
    await pingsBothWays(lab, [[ha!, b.vpnIp]]);
    const firstReplyMs = Math.round(performance.now() - started);
    await pingsBothWays(lab, [[hb!, a.vpnIp]]);
    await a.waitForLog(/Handshake completed.*certVersion=2/, 2000);
    t.diagnostic(`a -> b first reply after ${firstReplyMs} ms (v2 certificates, via the lighthouse's answer)`);
  },
);
