import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { waitFor } from './lab/wait.js';

// lighthouse.serve_dns on a mesh lighthouse, asked from inside the lab's namespaces with dig (BIND's client, with its
// default EDNS options), so the server is checked by a codec that is not its own.

const DNS_PORT = 5353;

interface Reply {
  timeout?: boolean;
  rcode?: number;
  answers?: (string | string[])[];
}

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/** The quoted strings of a TXT record's data as dig prints them. */
function txtStrings(data: string): string[] {
  return [...data.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
}

async function dns(lab: Lab, from: Host, server: string, type: 'A' | 'TXT', name: string): Promise<Reply> {
  const args = [
    `@${server}`,
    '-p',
    String(DNS_PORT),
    '+time=1',
    '+tries=3',
    '+noall',
    '+comments',
    '+answer',
    name,
    type,
  ];
  const out = await lab.exec(from, 'dig', args, { timeoutMs: 10_000, check: false });
  if (/connection timed out|no servers could be reached/.test(out.stdout)) return { timeout: true };
  const status = /status: ([A-Z]+)/.exec(out.stdout);
  assert.ok(status, `dig printed no status:\n${out.stdout}${out.stderr}`);
  // dig still prints what it could parse of a malformed reply, after a warning: a warning is a failure here.
  assert.ok(
    !/;; Warning: Message parser|malformed|bad packet/.test(out.stdout + out.stderr),
    `dig found the reply malformed:\n${out.stdout}${out.stderr}`,
  );
  const answers = out.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => l.split(/\s+/))
    .filter((f) => f[3] === type)
    .map((f) => (type === 'A' ? f[4] : txtStrings(f.slice(4).join(' '))));
  const counted = /ANSWER: (\d+)/.exec(out.stdout);
  assert.equal(
    Number(counted?.[1]),
    answers.length,
    `the header's answer count is the answers dig read:\n${out.stdout}`,
  );
  return { rcode: RCODES[status[1]] ?? -1, answers };
}

test('a mesh lighthouse answers A for node names and TXT only from inside the overlay, and follows dns.host on reload', async (t) => {
  const lab = await Lab.create(t);
  const [hl, h1, h2] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  const lh = await net.start(hl!, {
    name: 'lh',
    lighthouse: true,
    impl: meshImpl,
    config: { lighthouse: { serve_dns: true, dns: { host: hl!.ip, port: DNS_PORT } } },
  });
  await lh.waitForLog(/Starting DNS responder/, 5000);
  const n1 = await net.start(h1!, { name: 'n1', impl: meshImpl });
  const n2 = await net.start(h2!, { name: 'n2', impl: meshImpl });

  // Both nodes report to the lighthouse at start; their names resolve once their tunnels are up.
  for (const n of [n1, n2]) {
    const r = await waitFor(
      async () => {
        const reply = await dns(lab, h2!, hl!.ip, 'A', n.name);
        return reply.answers?.length ? reply : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: `A ${n.name}\n${lab.logTails(30)}` },
    );
    assert.deepEqual(r.answers, [n.vpnIp]);
  }
  assert.deepEqual((await dns(lab, h1!, hl!.ip, 'A', 'LH.')).answers, [lh.vpnIp], 'the lighthouse itself, any case');
  assert.deepEqual(
    await dns(lab, h1!, hl!.ip, 'A', 'nobody'),
    { rcode: 0, answers: [] },
    'unknown: NOERROR, no address',
  );
  assert.deepEqual(
    await dns(lab, h2!, hl!.ip, 'TXT', n1.vpnIp),
    { rcode: 0, answers: [] },
    'TXT from the underlay: nothing',
  );

  // Reload onto the overlay IP: the old address goes quiet, and n1 asks over its tunnel, from its VPN IP.
  const since = lh.process.logOffset();
  lh.updateConfig({ lighthouse: { dns: { host: lh.vpnIp } } });
  lh.reload();
  await lh.waitForLog(/Starting DNS responder.*dnsListener=10\.99\.0\.1:5353/, 5000, since);
  assert.deepEqual(await dns(lab, h2!, hl!.ip, 'A', 'n1'), { timeout: true });
  const txt = await dns(lab, h1!, lh.vpnIp, 'TXT', n2.vpnIp);
  const strings = (txt.answers?.[0] ?? []) as string[];
  assert.equal(strings[0], 'Name: n2');
  assert.equal(strings[1], `Ips: [${n2.vpnIp}/24]`);
  assert.ok(
    strings.some((s) => /^PublicKey [0-9a-f]{64}$/.test(s)),
    strings.join(' | '),
  );
  assert.deepEqual((await dns(lab, h2!, lh.vpnIp, 'A', 'n1')).answers, [n1.vpnIp]);
});
