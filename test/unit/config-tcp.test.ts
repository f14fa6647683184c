// The mesh-only `tcp:` section (pkg/config/section-tcp.ts, docs/tcp-fallback.md): defaults, and one clear error
// naming the key for a bad value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../../pkg/config/index.js';

const PKI = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' };

test('without a tcp section, lighthouses and relays listen on their UDP port number and nodes fall back', () => {
  assert.deepEqual(validateConfig({ pki: PKI }).config.tcp, { listen: true, port: 0, fallback: true });
  const off = validateConfig({ pki: PKI, tcp: { listen: false, port: 443, fallback: 'no' } }).config.tcp;
  assert.deepEqual(off, { listen: false, port: 443, fallback: false });
});

test('a bad tcp value is one error naming its key', () => {
  for (const [tcp, key] of [
    [{ port: 70000 }, 'tcp.port'],
    [{ port: 'https' }, 'tcp.port'],
    [{ listen: 'sometimes' }, 'tcp.listen'],
    [{ fallback: 3 }, 'tcp.fallback'],
  ] as const) {
    assert.throws(
      () => validateConfig({ pki: PKI, tcp }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(key),
      JSON.stringify(tcp),
    );
  }
});
