import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { loadNote } from './lab/load.js';
import { execIn } from './lab/exec.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import type { OverlayImpl } from './lab/overlay-node.js';
import { waitFor } from './lab/wait.js';

// pki.disconnect_invalid on a real mesh: "two" has a certificate valid for a few seconds; "one" must close the
// tunnel within 1 s of its notAfter (nebula 1.6.1, measured the same way: see the diagnostic of its run).

const CERT_SECONDS = 8;

/** What `closer` logs when it closes a tunnel for an expired peer certificate. */
const CLOSE_LINE: Record<string, RegExp> = {
  mesh: /time="([^"]+)"[^\n]*Tunnel peer certificate expired, closing/,
  nebula: /time="([^"]+)"[^\n]*(?:certificate is no longer valid|tearing down)/i,
};

async function expiryToClose(t: Parameters<typeof Lab.create>[0], closer: OverlayImpl): Promise<number> {
  const lab = await Lab.create(t);
  const [h1, h2] = await lab.flat(2);
  const net = await OverlayNet.create(lab);
  const one = await net.start(h1!, {
    name: 'one',
    impl: closer,
    config: {
      pki: { disconnect_invalid: true },
      static_host_map: { '10.99.0.2': [`${h2!.ip}:4242`] },
      // Nebula logs whole seconds unless told otherwise; mesh always logs milliseconds.
      ...(closer.name === 'nebula' ? { logging: { timestamp_format: '2006-01-02T15:04:05.000Z07:00' } } : {}),
    },
  });
  const two = await net.start(h2!, {
    name: 'two',
    impl: meshImpl,
    certDuration: `${CERT_SECONDS}s`,
    config: { static_host_map: { '10.99.0.1': [`${h1!.ip}:4242`] } },
  });
  const printed = await execIn(null, process.env.NEBULA_CERT_BIN ?? 'nebula-cert', [
    'print',
    '-json',
    '-path',
    two.cert.crt,
  ]);
  const notAfterMs = Date.parse((JSON.parse(printed.stdout) as { details: { notAfter: string } }).details.notAfter);
  await waitFor(async () => ((await lab.ping(h1!, two.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
    timeoutMs: 5000,
    intervalMs: 0,
    what: `first ping\n${lab.logTails()}`,
  });
  assert.ok(Date.now() < notAfterMs, 'the tunnel came up before the certificate expired');
  const line = await one.waitForLog(CLOSE_LINE[closer.name]!, notAfterMs - Date.now() + 10_000);
  return Date.parse(line[1]!) - notAfterMs;
}

test(
  'with pki.disconnect_invalid mesh closes a tunnel within 1 s of the peer certificate expiring',
  { timeout: 40_000 },
  async (t) => {
    const ms = await expiryToClose(t, meshImpl);
    t.diagnostic(`mesh: closed ${ms} ms after notAfter`);
    assert.ok(ms >= 0 && ms <= 1000, `closed ${ms} ms after notAfter (${loadNote()})`);
  },
);

test(
  'nebula 1.6.1 figure for the same (measured, not asserted)',
  { timeout: 40_000, skip: !process.env.MESH_MEASURE_NEBULA && 'set MESH_MEASURE_NEBULA=1' },
  async (t) => {
    // Nebula's connection manager looks at a tunnel only now and then: a run where it did not within 10 s says so.
    const figure = await expiryToClose(t, nebulaImpl).then(
      (ms) => `closed ${ms} ms after notAfter`,
      (e: Error) => `not measured: ${e.message.split('\n')[0]}`,
    );
    t.diagnostic(`nebula: ${figure}`);
  },
);
