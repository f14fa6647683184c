// A node's seal and open batches (pkg/datapath/pipelines.ts) exist from the node's start: on a running node the first
// data packet is a first contact's queued packet, which must not wait for them to be made. Read through the fields
// inside-path.ts and outside-path.ts keep them in, since asking for a batch would make it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataPathContext } from '../../pkg/datapath/context.js';
import { Pipelines } from '../../pkg/datapath/pipelines.js';
import { connect, TestMesh } from './helpers/mesh.js';

interface MadeBatches {
  inside: { seals: unknown };
  outside: { opens: unknown };
}

function batchesOf(pipelines: Pipelines): MadeBatches {
  return pipelines as unknown as MadeBatches;
}

test('new pipelines have their seal and open batches before any packet asks for them', () => {
  // Making them reads nothing of the context: a node constructs its pipelines before the rest of itself.
  const made = batchesOf(new Pipelines({} as DataPathContext));
  assert.notEqual(made.inside.seals, null, 'seal batch made at construction');
  assert.notEqual(made.outside.opens, null, 'open batch made at construction');
});

test("a first contact's data packets go through the batches the nodes had before it", async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b' });
  const seals = batchesOf(a.node.pipelines).inside.seals;
  const opens = batchesOf(b.node.pipelines).outside.opens;
  assert.notEqual(seals, null);
  assert.notEqual(opens, null);
  await connect(a, b);
  assert.equal(a.node.pipelines.inside.sealBatch(), seals, "a's packet sealed in the batch a started with");
  assert.equal(b.node.pipelines.outside.openBatch(), opens, "b's opened in the batch b started with");
});
