// lighthouse.second_port (mesh only; pkg/config/section-lighthouse.ts, docs/mesh-extensions.md "NAT tests"): absent
// by default (SECOND_PORT_DEFAULT applies), read when given, and one clear error naming the key for a bad value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../../pkg/config/index.js';

const PKI = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' };

test('lighthouse.second_port is absent unless configured, and read when it is', () => {
  assert.equal(validateConfig({ pki: PKI }).config.lighthouse.secondPort, undefined);
  const c = validateConfig({
    pki: PKI,
    listen: { port: 4242 },
    lighthouse: { am_lighthouse: true, second_port: { enabled: false, port: 4243 } },
  });
  assert.deepEqual(c.config.lighthouse.secondPort, { enabled: false, port: 4243 });
});

test('a bad lighthouse.second_port value is one error naming its key', () => {
  for (const [secondPort, key] of [
    [{ port: 70000 }, 'lighthouse.second_port.port'],
    [{ port: 4242 }, 'lighthouse.second_port.port'],
    [{ enabled: 'sometimes' }, 'lighthouse.second_port.enabled'],
  ] as const) {
    assert.throws(
      () =>
        validateConfig({
          pki: PKI,
          listen: { port: 4242 },
          lighthouse: { am_lighthouse: true, second_port: secondPort },
        }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(key),
      JSON.stringify(secondPort),
    );
  }
});
