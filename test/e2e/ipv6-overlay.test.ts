import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import type { OverlayNode } from './lab/overlay-net.js';
import { assertPings, assertTransfers } from './lab/overlay-check.js';

// The IPv6 overlay between real mesh processes (issue 18, docs/ipv6.md): v2 certificates with an IPv4 and an
// IPv6 network (a ULA /64 unique per run), a mesh lighthouse, and nodes that know only the lighthouse, so every
// tunnel is found through it. Ping and a checked TCP transfer over each family, both directions.

/** The TUN of `node` carries each of its overlay addresses (what the kernel routes by). */
async function assertTunAddresses(lab: Lab, node: OverlayNode): Promise<void> {
  const shown = (await lab.exec(node.host, 'ip', ['-o', 'addr', 'show'])).stdout;
  for (const ip of node.vpnIps)
    assert.ok(
      shown.includes(` ${ip}/`),
      `${node.name}'s TUN lacks its overlay address ${ip}:\n${shown}\n${lab.logTails(20)}`,
    );
}

test(
  'two dual-stack mesh nodes ping and carry TCP over IPv4 and IPv6, both directions, found through a mesh lighthouse',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb] = await lab.flat(3);
    const net = await OverlayNet.create(lab, { ipv6: true });
    const lh = await net.start(hl!, { name: 'lh', impl: meshImpl, lighthouse: true });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl });
    const b = await net.start(hb!, { name: 'b', impl: meshImpl });
    for (const n of [lh, a, b]) await assertTunAddresses(lab, n);
    for (const family of [4, 6] as const) {
      for (const [from, to] of [
        [a, b],
        [b, a],
        [a, lh],
      ] as const) {
        const rtt = await assertPings(lab, from, to, family);
        t.diagnostic(`ping ${from.name} -> ${to.name} IPv${family}: ${rtt.join('/')} ms`);
      }
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const ms = await assertTransfers(lab, from, to, family);
        t.diagnostic(`4 MiB ${from.name} -> ${to.name} IPv${family}: ${ms} ms`);
      }
    }
  },
);

test(
  'a v6-only mesh node (v2 certificate with one IPv6 network) and a dual-stack node reach each other over IPv6',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hc] = await lab.flat(3);
    const net = await OverlayNet.create(lab, { ipv6: true });
    await net.start(hl!, { name: 'lh', impl: meshImpl, lighthouse: true });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl });
    const c = await net.start(hc!, { name: 'c', impl: meshImpl, stack: 'v6' });
    assert.deepEqual(c.vpnIps, [net.ip6(3)], 'c has only its IPv6 address');
    await assertTunAddresses(lab, c);
    await assertPings(lab, c, a, 6);
    await assertPings(lab, a, c, 6);
    await assertTransfers(lab, c, a, 6);
    await assertTransfers(lab, a, c, 6);
    // c has no IPv4 overlay address: a's IPv4 address is not routed into c's TUN.
    const v4 = await lab.ping(hc!, a.address(4), { count: 1, timeoutSec: 1 });
    assert.equal(v4.ok, false, `c (v6-only) reached a over IPv4: ${JSON.stringify(v4)}`);
  },
);

test(
  'IPv6 over the overlay at the TUN MTU and beyond it: full-size and fragmented pings, as IPv4',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb] = await lab.flat(3);
    const net = await OverlayNet.create(lab, { ipv6: true });
    await net.start(hl!, { name: 'lh', impl: meshImpl, lighthouse: true, tunDisabled: true });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl });
    const b = await net.start(hb!, { name: 'b', impl: meshImpl });
    await assertPings(lab, a, b, 6);
    // The lab's TUN MTU is 1300: 1252 bytes of ICMPv6 payload fill a packet exactly (40 + 8 + 1252); 1272 for IPv4
    // (20 + 8 + 1272). 3000 bytes go as fragments, made by the sending kernel and put back together by the receiving one.
    for (const [family, full] of [
      [6, 1252],
      [4, 1272],
    ] as const) {
      for (const size of [full, 3000]) {
        const r = await lab.ping(ha!, b.address(family), { count: 3, timeoutSec: 5, size });
        assert.equal(
          r.rttMs.length,
          3,
          `${size}-byte pings a -> b over IPv${family}: ${JSON.stringify(r)}\n${lab.logTails(20)}`,
        );
      }
    }
  },
);
