import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { waitFor } from './lab/wait.js';

// lighthouse.serve_dns on a mesh lighthouse, asked from inside the lab's namespaces by a small node:dgram client
// (dig is not installed) that uses mesh's own DNS codec.

const DNS_PORT = 5353;
const WIRE = new URL('../../pkg/lighthouse/dns-wire.js', import.meta.url).href;

// argv: server port type name. Prints the reply as JSON ({ timeout: true } after three silent tries).
const CLIENT = `
import dgram from 'node:dgram';
import { encodeQuery, parseResponse } from ${JSON.stringify(WIRE)};
const [server, port, type, name] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
const id = Math.floor(Math.random() * 65536);
const ask = () => new Promise((resolve) => {
  const t = setTimeout(() => resolve(null), 700);
  s.on('message', (m) => { const r = parseResponse(new Uint8Array(m)); if (r.id === id) { clearTimeout(t); resolve(r); } });
  s.send(encodeQuery(id, name, Number(type)), Number(port), server);
});
let r = null;
for (let i = 0; i < 3 && !r; i++) r = await ask();
const ip = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
console.log(JSON.stringify(r ? { rcode: r.rcode, answers: r.answers.map((a) => a.address !== undefined ? ip(a.address) : a.strings) } : { timeout: true }));
s.close();
`;

interface Reply {
  timeout?: boolean;
  rcode?: number;
  answers?: (string | string[])[];
}

async function dns(lab: Lab, from: Host, server: string, type: 'A' | 'TXT', name: string): Promise<Reply> {
  const args = ['--input-type=module', '-e', CLIENT, server, String(DNS_PORT), type === 'A' ? '1' : '16', name];
  const out = await lab.exec(from, process.execPath, args, { timeoutMs: 10_000 });
  return JSON.parse(out.stdout) as Reply;
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
    const r = await waitFor(async () => {
      const reply = await dns(lab, h2!, hl!.ip, 'A', n.name);
      return reply.answers?.length ? reply : null;
    }, { timeoutMs: 15_000, intervalMs: 200, what: `A ${n.name}\n${lab.logTails(30)}` });
    assert.deepEqual(r.answers, [n.vpnIp]);
  }
  assert.deepEqual((await dns(lab, h1!, hl!.ip, 'A', 'LH.')).answers, [lh.vpnIp], 'the lighthouse itself, any case');
  assert.deepEqual(await dns(lab, h1!, hl!.ip, 'A', 'nobody'), { rcode: 0, answers: [] }, 'unknown: NOERROR, no address');
  assert.deepEqual(await dns(lab, h2!, hl!.ip, 'TXT', n1.vpnIp), { rcode: 0, answers: [] }, 'TXT from the underlay: nothing');

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
  assert.ok(strings.some((s) => /^PublicKey [0-9a-f]{64}$/.test(s)), strings.join(' | '));
  assert.deepEqual((await dns(lab, h2!, lh.vpnIp, 'A', 'n1')).answers, [n1.vpnIp]);
});
