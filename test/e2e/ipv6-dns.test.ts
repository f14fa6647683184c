import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import { waitFor } from './lab/wait.js';

// lighthouse.serve_dns on the IPv6 overlay (issue 18), asked with dig: AAAA answers a host's IPv6 overlay address
// and A its IPv4 one, by certificate name (Nebula 1.10/1.11 dns_server.go keeps the first address of each family
// a host has). A v6-only host has an AAAA record and no A record; the lighthouse answers for its own name too.

const DNS_PORT = 5353;

async function lookup(lab: Lab, from: Host, server: string, type: 'A' | 'AAAA', name: string): Promise<string[]> {
  const args = [`@${server}`, '-p', String(DNS_PORT), '+time=1', '+tries=2', '+short', name, type];
  const out = await lab.exec(from, 'dig', args, { timeoutMs: 10_000, check: false });
  if (/connection timed out|no servers could be reached/.test(out.stdout))
    throw new Error(`dig ${type} ${name} @${server}: no answer at all`);
  return out.stdout.split('\n').filter((l) => l !== '' && !l.startsWith(';'));
}

test(
  'a mesh lighthouse with serve_dns answers AAAA with IPv6 overlay addresses and A with IPv4 ones',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, h1, h2] = await lab.flat(3);
    const net = await OverlayNet.create(lab, { ipv6: true });
    const lh = await net.start(hl!, {
      name: 'lh',
      lighthouse: true,
      impl: meshImpl,
      config: { lighthouse: { serve_dns: true, dns: { host: hl!.ip, port: DNS_PORT } } },
    });
    await lh.waitForLog(/Starting DNS responder/, 5000);
    const dual = await net.start(h1!, { name: 'dual', impl: meshImpl });
    const only6 = await net.start(h2!, { name: 'only6', impl: meshImpl, stack: 'v6' });

    const aaaa = await waitFor(
      async () => {
        const r = await lookup(lab, h1!, hl!.ip, 'AAAA', 'dual');
        return r.length > 0 ? r : null;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 200,
        what: () => `AAAA dual (the lighthouse learns dual's addresses from its first update)\n${lab.logTails(30)}`,
      },
    );
    assert.deepEqual(aaaa, [dual.address(6)], 'AAAA dual');
    assert.deepEqual(await lookup(lab, h1!, hl!.ip, 'A', 'dual'), [dual.address(4)], 'A dual');
    const only6Aaaa = await waitFor(
      async () => {
        const r = await lookup(lab, h2!, hl!.ip, 'AAAA', 'only6');
        return r.length > 0 ? r : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: () => `AAAA only6\n${lab.logTails(30)}` },
    );
    assert.deepEqual(only6Aaaa, [only6.address(6)], 'AAAA only6');
    assert.deepEqual(await lookup(lab, h2!, hl!.ip, 'A', 'only6'), [], 'a v6-only host has no A record');
    assert.deepEqual(await lookup(lab, h2!, hl!.ip, 'AAAA', 'LH'), [lh.address(6)], 'AAAA for the lighthouse itself');
    assert.deepEqual(await lookup(lab, h2!, hl!.ip, 'AAAA', 'nobody'), [], 'unknown name: no AAAA');
  },
);
