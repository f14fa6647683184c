// lighthouse.store on a running node (pkg/daemon/node.ts): a lighthouse gets the memory store unless the config
// names NATS, and a reload that changes lighthouse.store says it needs a restart (the store's connection is made
// once) instead of silently keeping the old one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshConfig } from '../../pkg/config/index.js';
import { TestMesh } from './helpers/mesh.js';
import { testPki } from './helpers/pki.js';

test('a lighthouse has the memory store by default; a reload changing lighthouse.store needs a restart', async (t) => {
  const mesh = new TestMesh(t);
  const lh = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'lh',
    tun: null,
    config: { listen: { port: 4242 }, lighthouse: { am_lighthouse: true } },
  });
  assert.equal(lh.node.lighthouseStore?.kind, 'memory');
  const current = lh.node.currentConfig();
  const reload = (config: MeshConfig) =>
    lh.node.applyReload({
      config,
      pki: testPki(lh.cert, [mesh.ca]),
      rules: lh.node.firewall().currentRules,
      staticHosts: new Map(),
    });
  assert.deepEqual(reload(current), []);
  const withNats: MeshConfig = {
    ...current,
    lighthouse: {
      ...current.lighthouse,
      store: { kind: 'nats', servers: ['nats://127.0.0.1:1'], bucket: 'b', ttlMs: 30_000 },
    },
  };
  assert.deepEqual(reload(withNats), ['lighthouse.store (needs a restart to apply)']);
  assert.equal(lh.node.lighthouseStore?.kind, 'memory', 'the running store stays until a restart');
});
