import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { startMiniupnpd } from './lab/miniupnpd.js';
import type { Miniupnpd } from './lab/miniupnpd.js';

// Each port-mapping protocol of pkg/portmap/ against Debian's miniupnpd on the host's NAT router: map, renew,
// delete, checked against miniupnpd's nftables rules and its lease file.

const PROBE = resolve('dist/test/e2e/lab/portmap-probe.js');

interface Step {
  step: string;
  error?: string;
  externalIp?: string;
  externalPort?: number;
  internalPort?: number;
  lifetimeSec?: number;
}

/** The probe in `host`'s namespace; next() is its next JSON line (10 s at most). */
function startProbe(
  t: { after(fn: () => unknown): void },
  host: Host,
  protocol: string,
  port: number,
  lifetimeSec: number,
) {
  const child = spawn(
    'ip',
    ['netns', 'exec', host.ns, process.execPath, PROBE, protocol, String(port), String(lifetimeSec)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    send: (line: string) => child.stdin.write(`${line}\n`),
    next: async (): Promise<Step> => {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${protocol} probe: no answer in 10 s`)), 10_000).unref(),
      );
      const r = await Promise.race([lines.next(), timeout]);
      if (r.done) throw new Error(`${protocol} probe exited`);
      return JSON.parse(r.value) as Step;
    },
  };
}

async function mapRenewDelete(
  t: { after(fn: () => unknown): void; diagnostic(s: string): void },
  lab: Lab,
  host: Host,
  upnpd: Miniupnpd,
  protocol: string,
): Promise<void> {
  const port = 4242;
  const probe = startProbe(t, host, protocol, port, 600);
  const mapped = await probe.next();
  assert.equal(mapped.step, 'mapped', `${protocol}: ${mapped.error}\n${upnpd.proc.logTail(30)}`);
  assert.equal(mapped.externalIp, upnpd.publicIp);
  assert.equal(mapped.internalPort, port);
  assert.ok((mapped.lifetimeSec ?? 0) > 0);
  const rules = await upnpd.rules();
  assert.match(
    rules,
    new RegExp(`dport ${mapped.externalPort} dnat ip to ${host.ip.replace(/\./g, '\\.')}:${port}`),
    rules,
  );
  assert.equal(
    upnpd.leases().filter((l) => l.startsWith(`UDP:${mapped.externalPort}:${host.ip}:${port}:`)).length,
    1,
    upnpd.leases().join('\n'),
  );

  probe.send('renew');
  const renewed = await probe.next();
  assert.equal(renewed.step, 'renewed', `${protocol}: ${renewed.error}`);
  assert.equal(renewed.externalPort, mapped.externalPort, 'a renewal keeps the external port');
  assert.equal(
    upnpd.leases().filter((l) => l.startsWith(`UDP:${mapped.externalPort}:`)).length,
    1,
    'renewing does not add a second mapping',
  );

  probe.send('delete');
  assert.equal((await probe.next()).step, 'deleted');
  const after = await upnpd.rules();
  assert.doesNotMatch(after, new RegExp(`dport ${mapped.externalPort} dnat`), after);
  assert.equal(upnpd.leases().length, 0);
  t.diagnostic(
    `${protocol}: mapped ${mapped.externalIp}:${mapped.externalPort} -> ${host.ip}:${port}, lifetime ${mapped.lifetimeSec} s; renewed; deleted`,
  );
}

for (const protocol of ['pcp', 'nat-pmp', 'upnp'] as const) {
  test(`${protocol}: maps the port on miniupnpd, renews it in place and deletes it`, async (t) => {
    const lab = await Lab.create(t);
    const router = await lab.natRouter('random');
    const host = await lab.hostBehind(router, 'a');
    const upnpd = await startMiniupnpd(lab, router);
    await mapRenewDelete(t, lab, host, upnpd, protocol);
  });
}

test('upnp: when another host holds the port, a random external port is mapped instead', async (t) => {
  const lab = await Lab.create(t);
  const router = await lab.natRouter('random');
  const other = await lab.hostBehind(router, 'c');
  const host = await lab.hostBehind(router, 'a');
  const upnpd = await startMiniupnpd(lab, router);
  const first = startProbe(t, other, 'upnp', 4242, 600);
  assert.equal((await first.next()).externalPort, 4242);
  const second = startProbe(t, host, 'upnp', 4242, 600);
  const m = await second.next();
  assert.equal(m.step, 'mapped', `${m.error}\n${upnpd.proc.logTail(20)}`);
  assert.notEqual(m.externalPort, 4242);
  const rules = await upnpd.rules();
  assert.match(rules, new RegExp(`dport ${m.externalPort} dnat ip to ${host.ip.replace(/\./g, '\\.')}:4242`), rules);
  t.diagnostic(`port 4242 held by ${other.ip}: ${host.ip} got ${m.externalIp}:${m.externalPort}`);
});
