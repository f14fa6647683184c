import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { NetcheckReport } from '../../pkg/control/reports.js';
import { Lab } from './lab/lab.js';
import { MESH_MAIN, meshImpl } from './lab/mesh-impl.js';
import { OverlayNet, nebulaImpl } from './lab/nebula.js';
import type { OverlayNode } from './lab/nebula.js';

// `mesh netcheck` asks two mesh lighthouses where they see the node and tells, in RFC 4787 terms, a
// port-preserving endpoint-independent NAT (nftables masquerade) from a symmetric one (masquerade random).

async function netcheck(lab: Lab, node: OverlayNode): Promise<{ report: NetcheckReport; text: string }> {
  await node.waitForLog(/Control socket listening/, 5000);
  const json = await lab.exec(
    node.host,
    process.execPath,
    [MESH_MAIN, 'netcheck', '-config', node.configPath, '-json'],
    { check: false, timeoutMs: 20_000 },
  );
  assert.equal(json.exitCode, 0, `${json.stderr}\n${lab.logTails()}`);
  const text = await lab.exec(node.host, process.execPath, [MESH_MAIN, 'netcheck', '-config', node.configPath], {
    check: false,
    timeoutMs: 20_000,
  });
  return { report: JSON.parse(json.stdout) as NetcheckReport, text: text.stdout };
}

test('netcheck tells a symmetric NAT from a port-preserving one, and no NAT from either', async (t) => {
  const lab = await Lab.create(t);
  const lh1Host = await lab.publicHost('lh1');
  const lh2Host = await lab.publicHost('lh2');
  const pubHost = await lab.publicHost('pub');
  const masq = await lab.natRouter('masq');
  const random = await lab.natRouter('random');
  const behindMasq = await lab.hostBehind(masq, 'a');
  const behindRandom = await lab.hostBehind(random, 'b');
  const net = await OverlayNet.create(lab);
  await net.start(lh1Host, { name: 'lh1', lighthouse: true, impl: meshImpl, tunDisabled: true });
  await net.start(lh2Host, { name: 'lh2', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const pub = await net.start(pubHost, { name: 'pub', impl: meshImpl, tunDisabled: true });
  const a = await net.start(behindMasq, { name: 'a', impl: meshImpl, tunDisabled: true });
  const b = await net.start(behindRandom, { name: 'b', impl: meshImpl, tunDisabled: true });

  const p = await netcheck(lab, pub);
  assert.equal(p.report.verdict.udpWorks, true);
  assert.equal(p.report.verdict.behindNat, false, JSON.stringify(p.report));
  assert.deepEqual(
    p.report.lighthouses.map((l) => l.seenAs),
    [`${pubHost.ip}:4242`, `${pubHost.ip}:4242`],
  );

  const m = await netcheck(lab, a);
  assert.equal(m.report.verdict.behindNat, true, JSON.stringify(m.report));
  assert.equal(m.report.verdict.mapping, 'endpoint-independent');
  assert.equal(m.report.verdict.portPreserving, true);
  assert.deepEqual(m.report.verdict.publicAddresses, [`${masq.wanIp}:4242`]);
  assert.match(m.text, /endpoint-independent mapping/);

  const r = await netcheck(lab, b);
  assert.equal(r.report.verdict.behindNat, true, JSON.stringify(r.report));
  assert.equal(r.report.verdict.mapping, 'endpoint-dependent');
  assert.equal(r.report.verdict.portPreserving, false);
  assert.equal(new Set(r.report.lighthouses.map((l) => l.seenAs)).size, 2);
  assert.match(r.text, /symmetric NAT/);
  for (const line of r.text.trimEnd().split('\n')) t.diagnostic(line);
});

test('netcheck says the NAT type is unknown when the lighthouse is a Nebula one that does not answer whoami', async (t) => {
  const lab = await Lab.create(t);
  const [hl, h1] = await lab.flat(2);
  const net = await OverlayNet.create(lab);
  const lh = await net.start(hl!, { name: 'lh', lighthouse: true, impl: nebulaImpl, tunDisabled: true });
  const one = await net.start(h1!, { name: 'one', impl: meshImpl, tunDisabled: true });
  const { report } = await netcheck(lab, one);
  assert.equal(report.verdict.udpWorks, true);
  assert.equal(report.lighthouses[0].tunnel, true);
  assert.equal(report.lighthouses[0].seenAs, null);
  assert.equal(typeof report.lighthouses[0].rttMs, 'number', 'a Nebula lighthouse still echoes the RTT probe');
  assert.equal(report.verdict.mapping, 'unknown');
  assert.ok(lh.process.running, 'the probe did not crash the Nebula lighthouse');
});
