import assert from 'node:assert/strict';
import { test } from 'node:test';

import { controlHandler, type ControlContext } from '../../pkg/control/handlers.js';
import { buildStatus } from '../../pkg/control/status.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { makeTestCa } from './helpers/pki.js';
import { makeHost, makeTestCaV2, pkiOf } from './helpers/pki-v2.js';

// `mesh print-cert` with v2 certificates (docs/certificates-v2.md, "Handshakes"): ours is the certificate our
// handshakes start with, a peer's the one it presented, each printed in its own version's form (a v2 one as Nebula
// 1.10 prints it, with its v2 fingerprint), not through the IPv4 view the rest of the daemon uses.

const FAST = { handshakes: { try_interval: '20ms', retries: 5 } };

test("print-cert and status show our initiating certificate and the peer's presented one, each in its version", async (t) => {
  const cas = { v1: makeTestCa('v1 ca'), v2: makeTestCaV2('v2 ca') };
  const mesh = new TestMesh(t);
  const ha = makeHost(cas, 'a', '10.99.0.1', [1, 2]);
  const hb = makeHost(cas, 'b', '10.99.0.2', [2]);
  const a = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'a',
    peers: ['10.99.0.2'],
    config: FAST,
    pki: pkiOf(ha, cas, 2),
  });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'], config: FAST, pki: pkiOf(hb, cas) });
  await connect(a, b);
  const handle = controlHandler({ node: a.node } as unknown as ControlContext);
  const print = async (host?: string) =>
    (await handle({ command: 'print-cert', args: host ? { host } : {} } as Parameters<typeof handle>[0])) as {
      text: string;
      json: Record<string, unknown>;
    };

  const mine = await print();
  assert.equal(mine.json.version, 2);
  assert.equal(mine.json.fingerprint, ha.v2!.fingerprint);
  const peer = await print('10.99.0.2');
  assert.equal(peer.json.version, 2);
  assert.equal(peer.json.fingerprint, hb.v2!.fingerprint);
  assert.match(peer.text, /"networks": \[\n\t\t\t"10\.99\.0\.2\/24"/);

  // mesh status: our fingerprint and the peer's are the v2 ones too.
  const status = buildStatus(a.node, a.node.probes);
  assert.equal(status.self.fingerprint, ha.v2!.fingerprint);
  assert.equal(status.peers.find((p) => p.vpnIp === '10.99.0.2')?.fingerprint, hb.v2!.fingerprint);
});
