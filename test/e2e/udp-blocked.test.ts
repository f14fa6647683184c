import assert from 'node:assert/strict';
import { test } from 'node:test';

import { meshImpl } from './lab/mesh-impl.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { moveIntoUdpBlockedScenario, udpBlockedScenario } from './lab/udp-blocked.js';

// Issue 16 section 1 (docs/tcp-fallback.md): a node behind a router that forwards no UDP except DNS reaches its
// peers through the lighthouse over TCP, both ways, within 10 s of its start, and moves back to UDP once UDP passes.
// MESH_MEASURE_NEBULA=1 also runs nebula 1.6.1 in the same lab (it has no TCP: no path).

test('a node whose router drops all UDP but DNS pings its peer and is pinged within 10 s, relayed over TCP, and moves back to UDP when UDP passes', async (t) => {
  const r = await udpBlockedScenario(meshImpl, { scope: t, timeoutMs: 10_000 });
  t.diagnostic(`mesh: a->b first reply ${r.aToBMs} ms, b->a ${r.bToAMs} ms after a's start; path: ${r.path}`);
  t.diagnostic(
    `mesh: back on UDP ${r.backToUdpMs} ms after UDP passed; then ${r.udpAfter} UDP / ${r.tcpAfter} TCP packets from a in 10 pings`,
  );
  for (const line of `${r.status}\n${r.netcheck}`.split('\n'))
    if (/tcp|udp works|UDP/i.test(line)) t.diagnostic(`  ${line.trim()}`);
  assert.notEqual(r.aToBMs, null, `a never got a reply from b\n${r.detail}`);
  assert.notEqual(r.bToAMs, null, `b never got a reply from a\n${r.detail}`);
  assert.ok((r.aToBMs as number) <= 10_000 && (r.bToAMs as number) <= 10_000);
  assert.equal(r.path, 'relayed via 10.99.0.1 over tcp');
  assert.match(r.status, /UDP blocked: lighthouses and relays reached over tcp/, r.status);
  assert.match(r.status, /relayed via 10\.99\.0\.1 over tcp/, r.status);
  assert.match(r.netcheck, /udp works: +no/, r.netcheck);
  assert.match(r.netcheck, /UDP blocked: no lighthouse answers over UDP\. TCP to lh works/, r.netcheck);
  assert.ok(r.stillOnTcp, `a stays on TCP while UDP is blocked (13 s after its start)\n${r.detail}`);
  assert.notEqual(r.backToUdpMs, null, `a did not move back to UDP\n${r.detail}`);
  assert.ok(r.udpAfter >= 10, `a's traffic goes over UDP again (${r.udpAfter} UDP datagrams)`);
  assert.equal(r.tcpAfter, 0, 'no TCP once back on UDP');
  if (process.env.MESH_MEASURE_NEBULA === '1') {
    const n = await udpBlockedScenario(nebulaImpl, { scope: t, timeoutMs: 10_000, unblock: false });
    t.diagnostic(`nebula 1.6.1: a->b ${n.aToBMs ?? 'no path'}, b->a ${n.bToAMs ?? 'no path'}`);
  }
});

test('a node that moves into a network dropping all UDP but DNS falls back to TCP: both pings get replies again within 10 s', async (t) => {
  const r = await moveIntoUdpBlockedScenario(meshImpl, { scope: t, timeoutMs: 10_000 });
  t.diagnostic(`mesh: first reply after the move a->b ${r.aToBMs} ms, b->a ${r.bToAMs} ms; path: ${r.path}`);
  assert.notEqual(r.aToBMs, null, `a never got a reply from b after the move\n${r.detail}`);
  assert.notEqual(r.bToAMs, null, `b never got a reply from a after the move\n${r.detail}`);
  assert.equal(r.path, 'relayed via 10.99.0.1 over tcp');
  if (process.env.MESH_MEASURE_NEBULA === '1') {
    const n = await moveIntoUdpBlockedScenario(nebulaImpl, { scope: t, timeoutMs: 10_000 });
    t.diagnostic(`nebula 1.6.1: a->b ${n.aToBMs ?? 'no path'}, b->a ${n.bToAMs ?? 'no path'}`);
  }
});
