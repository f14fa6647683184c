// A node's seal and open batches are made with its pipelines (inside-path.ts, outside-path.ts constructors): on a
// running node the first data packet is a first contact's queued packet, which must not wait for them to be made.
// MeshNode builds its Pipelines in a field initializer, before the rest of itself, so making them must read nothing
// of the context.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataPathContext } from '../../pkg/datapath/context.js';
import { Pipelines } from '../../pkg/datapath/pipelines.js';
import { connect, TestMesh } from './helpers/mesh.js';

/** A context whose every property read throws: what reads it at construction fails. */
function unreadableContext(): DataPathContext {
  return new Proxy({} as DataPathContext, {
    get(_target, key) {
      throw new Error(`the context's ${String(key)} read while the pipelines were made`);
    },
  });
}

test('pipelines make their seal and open batches without reading the context, one of each for their life', () => {
  const pipelines = new Pipelines(unreadableContext());
  const seals = pipelines.inside.sealBatch();
  const opens = pipelines.outside.openBatch();
  assert.equal(pipelines.inside.sealBatch(), seals);
  assert.equal(pipelines.outside.openBatch(), opens);
});

test("a first contact's data packets go through the batches the nodes had before it", async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b' });
  const seals = a.node.pipelines.inside.sealBatch();
  const opens = b.node.pipelines.outside.openBatch();
  await connect(a, b);
  assert.equal(a.node.pipelines.inside.sealBatch(), seals, "a's packet sealed in the batch a started with");
  assert.equal(b.node.pipelines.outside.openBatch(), opens, "b's opened in the batch b started with");
});
