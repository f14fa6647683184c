import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { CaPool } from '../../pkg/cert/index.js';
import { reloadDaemon } from '../../pkg/daemon/daemon.js';
import { identityOf } from '../../pkg/handshake/identity.js';
import { TestMesh } from './helpers/mesh.js';
import { makeHostCert, makeTestCa } from './helpers/pki.js';
import { makeHostCertV2, makeTestCaV2 } from './helpers/pki-v2.js';

// A reload keeps the TUN it started with, and the TUN holds every network of the certificate: a new certificate
// with another set of networks (here the IPv6 one dropped) is refused, one with the same networks is taken
// (docs/ipv6.md).

test('a reload whose certificate has other networks than the running one is refused; the same networks reload', async (t) => {
  const ca = makeTestCa('v1 ca');
  const ca2 = makeTestCaV2('v2 ca');
  const host = makeHostCert(ca, { name: 'a', ip: '10.99.0.1/24' });
  const keys = { publicKey: host.cert.details.publicKey, privateKey: host.privateKey };
  const dual = makeHostCertV2(ca2, { name: 'a', networks: ['10.99.0.1/24', 'fd00:99::1/64'], keys });
  const pool = new CaPool();
  pool.addCaV2(ca2.cert);
  const mesh = new TestMesh(t);
  const a = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'a',
    pki: { caPool: pool, identity: identityOf({ v2: dual.v2 }, host.privateKey), warnings: [] },
  });
  const dir = mkdtempSync(join(tmpdir(), `mesh-reload-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (certPem: string): void => {
    writeFileSync(
      join(dir, 'config.yml'),
      `pki:\n  ca: |\n${indent(ca2.pem)}  cert: |\n${indent(certPem)}  key: |\n${indent(host.keyPem)}`,
    );
  };
  const v4only = makeHostCertV2(ca2, { name: 'a', networks: ['10.99.0.1/24'], keys });
  write(v4only.pem);
  const refused = await reloadDaemon(a.node, join(dir, 'config.yml'));
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.error, /different networks; restart/);
  const again = makeHostCertV2(ca2, { name: 'a', networks: ['10.99.0.1/24', 'fd00:99::1/64'], keys });
  write(again.pem);
  const taken = await reloadDaemon(a.node, join(dir, 'config.yml'));
  assert.deepEqual(taken.ok ? 'ok' : taken.error, 'ok');
});

function indent(pem: string): string {
  return pem
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}\n`)
    .join('');
}
