import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet, randomUlaPrefix } from './lab/overlay-net.js';

// An IPv6 unsafe network (issue 18: unsafe_routes with every address): gw's v2 certificate carries a second ULA
// /64 as an unsafe network and gw holds its ::1 on lo; a routes that /64 into the tunnel via gw's IPv6 overlay
// address (tun.unsafe_routes). gw's firewall reaches the unsafe network only through local_cidr, as for IPv4.

test(
  "an IPv6 unsafe route via a gateway's IPv6 overlay address carries ICMPv6 to the network behind it",
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hg, ha] = await lab.flat(2, ['gw', 'a']);
    const net = await OverlayNet.create(lab, { ipv6: true });
    const unsafe = randomUlaPrefix();
    const behindGw = `${unsafe.split('::/')[0]}::1`;
    const gw = await net.start(hg!, {
      name: 'gw',
      impl: meshImpl,
      lighthouse: true,
      subnets: [unsafe],
      firewall: {
        outbound: [{ port: 'any', proto: 'any', host: 'any' }],
        inbound: [
          { port: 'any', proto: 'icmp', host: 'a', local_cidr: unsafe },
          { port: 'any', proto: 'icmp', host: 'a' },
        ],
      },
    });
    await lab.exec(hg!, 'ip', ['-6', 'addr', 'add', `${behindGw}/128`, 'dev', 'lo']);
    const a = await net.start(ha!, {
      name: 'a',
      impl: meshImpl,
      config: { tun: { unsafe_routes: [{ route: unsafe, via: gw.address(6) }] } },
    });
    const route = (await lab.exec(ha!, 'ip', ['-6', 'route', 'show', unsafe])).stdout;
    assert.match(
      route,
      /dev nb/,
      `a has the IPv6 unsafe route on its TUN: ${JSON.stringify(route)}\n${lab.logTails(20)}`,
    );
    const r = await lab.ping(ha!, behindGw, { count: 3, timeoutSec: 8 });
    assert.ok(
      r.rttMs.length >= 2,
      `a -> ${behindGw} (behind gw, via ${gw.address(6)}): ${JSON.stringify(r)}\n${lab.logTails(30)}`,
    );
    t.diagnostic(`${a.name} -> ${behindGw}: ${r.rttMs.join('/')} ms`);
  },
);
