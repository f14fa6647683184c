import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Lab } from './lab/lab.js';
import { MESH_MAIN } from './lab/mesh-impl.js';
import type { OverlayNode } from './lab/nebula.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { portmapScenario } from './lab/portmap-scenario.js';

// Both routers symmetric (port-rewriting), miniupnpd on a's: mesh maps a's port and advertises it, so a and b talk
// directly both ways; without port mapping (Nebula 1.6.1) they stay relayed. MESH_MEASURE_NEBULA=1 prints nebula's
// figures from the same run.

async function netcheckText(lab: Lab, node: OverlayNode): Promise<string> {
  return (
    await lab.exec(node.host, process.execPath, [MESH_MAIN, 'netcheck', '-config', node.configPath], {
      check: false,
      timeoutMs: 20_000,
    })
  ).stdout;
}

test('symmetric NAT on both sides, miniupnpd on one: a and b talk directly both ways', async (t) => {
  const r = await portmapScenario(t);
  t.diagnostic(
    `mesh: first reply a->b ${r.firstReplyMs.toFixed(0)} ms, b->a ${r.reverseFirstReplyMs.toFixed(0)} ms after; ` +
      `a->b ${r.path}${r.directAfterMs !== null ? ` (direct ${r.directAfterMs.toFixed(0)} ms after both ready)` : ''}, b->a ${r.reversePath}`,
  );
  assert.equal(r.path, 'direct', r.lab.logTails(40));
  assert.equal(r.reversePath, 'direct', r.lab.logTails(40));

  // netcheck says who mapped what; b's router has no server, and b says why for each protocol.
  const aText = await netcheckText(r.lab, r.a);
  assert.match(
    aText,
    /port mapping: +pcp on 192\.168\.\d+\.1: 11\.0\.113\.\d+:4242, lifetime \d+ s \(\d+ s left\); advertised to the lighthouses/,
    aText,
  );
  const bText = await netcheckText(r.lab, r.b);
  assert.match(bText, /port mapping: +none on 192\.168\.\d+\.1 \(pcp: .+; nat-pmp: .+; upnp: .+\)/, bText);
  t.diagnostic(`a: ${/port mapping:.*/.exec(aText)?.[0]}`);
  t.diagnostic(`b: ${/port mapping:.*/.exec(bText)?.[0]}`);

  // SIGTERM: a deletes its mapping on the way out.
  assert.match(await r.upnpd.rules(), /dnat ip to/);
  await r.a.stop();
  assert.doesNotMatch(await r.upnpd.rules(), /dnat ip to/, 'the mapping is deleted at exit');
  assert.equal(r.upnpd.leases().length, 0);
});

test('a mapping whose external address is not where the lighthouse sees us is not advertised: relayed', async (t) => {
  // miniupnpd claims another public address (as a router behind a carrier NAT would): the mapping exists, but its
  // external IP differs from the lighthouse's view, so a keeps it to itself and nobody sends there.
  const r = await portmapScenario(t, { extIp: '11.0.200.1', settleMs: 4000 });
  t.diagnostic(
    `mesh, mapping at another address: first reply ${r.firstReplyMs.toFixed(0)} ms; a->b ${r.path}, b->a ${r.reversePath}; ${r.toExtIp} packets to it`,
  );
  assert.equal(r.toExtIp, 0, 'b was told the mapped address');
  const aText = await netcheckText(r.lab, r.a);
  assert.match(
    aText,
    /port mapping: +pcp on .*; not advertised: external ip 11\.0\.200\.1 is not where the lighthouses see us \(11\.0\.113\.\d+\)/,
    aText,
  );
  assert.equal(r.path, 'relayed', r.lab.logTails(40));
  assert.equal(r.reversePath, 'relayed', r.lab.logTails(40));
});

test(
  'nebula 1.6.1 in the same lab (printed only with MESH_MEASURE_NEBULA=1)',
  { skip: process.env.MESH_MEASURE_NEBULA !== '1' },
  async (t) => {
    const r = await portmapScenario(t, { impl: nebulaImpl, settleMs: 4000 });
    t.diagnostic(
      `nebula 1.6.1: first reply a->b ${r.firstReplyMs.toFixed(0)} ms, b->a ${r.reverseFirstReplyMs.toFixed(0)} ms; a->b ${r.path}, b->a ${r.reversePath}`,
    );
  },
);
