import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import { assertPings, assertTransfers, hop } from './lab/overlay-check.js';

// The IPv6 overlay through the NAT lab (issue 18): two dual-stack mesh nodes, each behind its own masquerading
// nftables router, a public mesh lighthouse, no relay. The tunnel between the nodes is punched through both NATs
// (the lighthouse hands each the other's mapped address), so every IPv6 packet below went on the direct path; the
// counter on b's router proves it: datagrams from a's router WAN address reached it while the pings ran.

test(
  'dual-stack mesh nodes behind two NATs reach each other directly over IPv6 and IPv4 (ping and TCP, both ways)',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const lhHost = await lab.publicHost('lh');
    const r1 = await lab.natRouter('masq');
    const r2 = await lab.natRouter('masq');
    const ha = await lab.hostBehind(r1, 'a');
    const hb = await lab.hostBehind(r2, 'b');
    const net = await OverlayNet.create(lab, { ipv6: true });
    await net.start(lhHost, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
    const a = await net.start(ha, { name: 'a', impl: meshImpl, punchy: { punch: true, respond: true } });
    const b = await net.start(hb, { name: 'b', impl: meshImpl, punchy: { punch: true, respond: true } });

    // Tunnel datagrams from a's router arriving at b's router: the direct path (not via the lighthouse's address).
    const direct = await lab.trafficCounter(r2, { hook: 'input', saddr: r1.wanIp, minUdpLength: 40 });
    const viaForward = await lab.trafficCounter(r2, { hook: 'forward', saddr: r1.wanIp, minUdpLength: 40 });
    await assertPings(lab, a, b, 6, { timeoutMs: 30_000 });
    const before = (await direct.read()).packets + (await viaForward.read()).packets;
    const rtt = await assertPings(lab, a, b, 6, { count: 5 });
    const after = (await direct.read()).packets + (await viaForward.read()).packets;
    assert.ok(
      after - before >= 5,
      `${hop(a, b, 6)}: expected >= 5 datagrams on the direct path (${r1.wanIp} -> ${r2.name}), saw ${after - before}\n${lab.logTails(30)}`,
    );
    t.diagnostic(`direct IPv6 rtt a -> b ${rtt.join('/')} ms`);
    await assertPings(lab, b, a, 6);
    for (const family of [6, 4] as const) {
      await assertTransfers(lab, a, b, family);
      await assertTransfers(lab, b, a, family);
    }
    await assertPings(lab, a, b, 4);
    await assertPings(lab, b, a, 4);
  },
);
