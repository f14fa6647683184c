import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Host } from './lab/lab.js';
import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { assertPings, assertTransfers } from './lab/overlay-check.js';
import { OverlayNet } from './lab/overlay-net.js';

// The IPv6 overlay over an IPv6 underlay (docs/ipv6.md): three hosts on one switch whose only underlay addresses
// are IPv6 (documentation prefix 2001:db8:d2::/64; their IPv4 addresses are removed), every node listening on `::`,
// the lighthouse named in static_host_map by `[v6]:port`. a is dual-stack, b is v6-only (one IPv6 network in its
// v2 certificate); they find each other through the lighthouse, which learns their IPv6 underlay addresses.

const UNDERLAY = '2001:db8:d2::';

/** Gives `host` the underlay address UNDERLAY + n and takes its IPv4 one away: IPv6 is the only way out. */
async function ipv6OnlyUnderlay(lab: Lab, host: Host, n: number): Promise<string> {
  await lab.exec(host, 'sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=0',
    'net.ipv6.conf.default.disable_ipv6=0',
    'net.ipv6.conf.eth0.disable_ipv6=0',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.eth0.accept_dad=0',
  ]);
  const ip = `${UNDERLAY}${n}`;
  await lab.exec(host, 'ip', ['-6', 'addr', 'add', `${ip}/64`, 'dev', 'eth0', 'nodad']);
  await lab.exec(host, 'ip', ['-4', 'addr', 'flush', 'dev', 'eth0']);
  const v4 = (await lab.exec(host, 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.trim();
  assert.equal(v4, '', `${host.name} still has an IPv4 underlay address`);
  return ip;
}

test(
  'over an IPv6-only underlay (listen on ::, static_host_map [v6]:port) a dual-stack and a v6-only node ping and carry TCP over the overlay',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb] = (await lab.flat(3, ['lh', 'a', 'b'])) as Host[];
    const underlay = new Map<Host, string>();
    for (const [i, h] of [hl!, ha!, hb!].entries()) underlay.set(h, await ipv6OnlyUnderlay(lab, h, i + 1));
    const net = await OverlayNet.create(lab, { ipv6: true });
    const listen = { listen: { host: '::' } };
    const lh = await net.start(hl!, {
      name: 'lh',
      impl: meshImpl,
      lighthouse: true,
      endpoints: [`[${underlay.get(hl!)}]:4242`],
      config: listen,
    });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl, config: listen });
    const b = await net.start(hb!, { name: 'b', impl: meshImpl, stack: 'v6', config: listen });
    assert.deepEqual(b.vpnIps, [net.ip6(3)], 'b has only its IPv6 overlay address');

    for (const [from, to, family] of [
      [a, b, 6],
      [b, a, 6],
      [b, lh, 6],
      [a, lh, 4],
    ] as const) {
      const rtt = await assertPings(lab, from, to, family);
      t.diagnostic(`ping ${from.name} -> ${to.name} IPv${family} overlay: ${rtt.join('/')} ms`);
    }
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const ms = await assertTransfers(lab, from, to, 6, { bytes: 1 << 20 });
      t.diagnostic(`1 MiB ${from.name} -> ${to.name} IPv6 overlay: ${ms} ms`);
    }
  },
);
