// lighthouse.store (mesh only; pkg/config/section-lighthouse-store.ts, docs/lighthouse-tier.md): absent by default
// (memory), `memory` or a map naming NATS servers; one clear error naming the key for a bad value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../../pkg/config/index.js';

const PKI = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' };
const lighthouse = (store: unknown) =>
  validateConfig({ pki: PKI, listen: { port: 4242 }, lighthouse: { am_lighthouse: true, store } }).config.lighthouse
    .store;

test('lighthouse.store is absent unless configured; memory and a NATS map are read', () => {
  assert.equal(validateConfig({ pki: PKI }).config.lighthouse.store, undefined);
  assert.deepEqual(lighthouse('memory'), { kind: 'memory' });
  assert.deepEqual(
    lighthouse({
      nats: ['nats://10.0.0.1:4222', 'tls://nats.example:4443', '10.0.0.2:4222'],
      user: 'lighthouse',
      password: 's3cret',
    }),
    {
      kind: 'nats',
      servers: ['nats://10.0.0.1:4222', 'tls://nats.example:4443', '10.0.0.2:4222'],
      user: 'lighthouse',
      password: 's3cret',
      token: undefined,
      bucket: 'mesh_lighthouse',
      ttlMs: 30_000,
    },
  );
  const full = lighthouse({
    nats: ['nats://[fd00::1]:4222'],
    token: 't',
    tls: { ca: 'ca.pem' },
    bucket: 'tier_eu',
    ttl: '45s',
    id: 'eu-1',
  });
  assert.deepEqual(full && full.kind === 'nats' && [full.bucket, full.ttlMs, full.id, full.tls?.ca, full.token], [
    'tier_eu',
    45_000,
    'eu-1',
    'ca.pem',
    't',
  ]);
});

test('a bad lighthouse.store value is one error naming its key', () => {
  for (const [store, key] of [
    ['redis', 'lighthouse.store'],
    [{ nats: [] }, 'lighthouse.store.nats'],
    [{ nats: ['http://10.0.0.1/'] }, 'lighthouse.store.nats[0]'],
    [{ nats: ['nats://a:1'], ttl: '500ms' }, 'lighthouse.store.ttl'],
    [{ nats: ['nats://a:1'], bucket: 'a.b' }, 'lighthouse.store.bucket'],
    [{ nats: ['nats://a:1'], id: 'lh.>' }, 'lighthouse.store.id'],
  ] as const) {
    assert.throws(
      () => lighthouse(store),
      (e: unknown) => e instanceof ConfigError && e.message.includes(key),
      JSON.stringify(store),
    );
  }
});

test('an unknown key under lighthouse.store is warned about, as every unknown key', () => {
  const r = validateConfig({
    pki: PKI,
    listen: { port: 4242 },
    lighthouse: { am_lighthouse: true, store: { nats: ['nats://a:1'], colour: 'blue' } },
  });
  assert.ok(
    r.warnings.some((w) => w.includes('lighthouse.store.colour')),
    r.warnings.join('\n'),
  );
});
