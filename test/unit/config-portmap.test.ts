// The mesh-only `portmap:` section (pkg/config/section-portmap.ts): on by default with a 2 h lifetime, and one
// clear error naming the key for a bad value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../../pkg/config/index.js';

const PKI = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' };

test('without a portmap section, port mapping is on and asks for 2 h; the section turns it off or changes the lifetime', () => {
  assert.deepEqual(validateConfig({ pki: PKI }).config.portmap, { enabled: true, lifetimeSec: 7200 });
  assert.deepEqual(validateConfig({ pki: PKI, portmap: { enabled: false, lifetime: '10m' } }).config.portmap, {
    enabled: false,
    lifetimeSec: 600,
  });
  assert.deepEqual(validateConfig({ pki: PKI, portmap: { enabled: false } }).warnings, []);
});

test('a bad portmap value is one error naming its key', () => {
  for (const [portmap, key] of [
    [{ enabled: 'sometimes' }, 'portmap.enabled'],
    [{ lifetime: '30s' }, 'portmap.lifetime'],
    [{ lifetime: '25h' }, 'portmap.lifetime'],
    [{ lifetime: 'long' }, 'portmap.lifetime'],
  ] as const) {
    assert.throws(
      () => validateConfig({ pki: PKI, portmap }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(key),
      JSON.stringify(portmap),
    );
  }
});
