import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sameAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh } from './helpers/mesh.js';

// A node answers the mesh-only whoami and RTT probes on its own, with no control socket (TestMesh nodes never open
// one): before, both were hooks the control service patched into the node, so a lighthouse started without a
// socket left every node's netcheck and NAT tests unanswered.

test('a node with no control service answers whoami with the address it sees the asker at', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'] });
  await connect(a, b);
  const seen = await a.node.whoami.ask(a.tunnelTo(b)!, 2000);
  assert.equal(seen.length, 1);
  assert.ok(sameAddr(seen[0], a.addr), `b sees a at ${a.addr.address}:${a.addr.port}, got ${JSON.stringify(seen)}`);
});

test('a node with no control service measures the RTT of a probe', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'] });
  await connect(a, b);
  const r = await a.node.probes.probe(a.tunnelTo(b)!, 2000);
  assert.ok(r.rttMs >= 0);
  assert.ok(sameAddr(r.from, a.tunnelTo(b)!.remote));
});
