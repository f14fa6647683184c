import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { startStaticPeers } from './lab/static-peers.js';

// Unsafe routes with real packets (Nebula 1.7-1.11 semantics): a gateway whose certificate carries 192.168.200.0/24
// and holds 192.168.200.1 itself. Its inbound rules reach that network only through local_cidr (a rule without one
// reaches the gateway's VPN address alone), and a client's `install: false` route stays out of its routing table
// while mesh still carries what the user routes into the tunnel.

const GW = '10.99.0.1';
const UNSAFE = '192.168.200.0/24';
const BEHIND_GW = '192.168.200.1';

test('unsafe routes: local_cidr opens the unsafe network, a rule without it does not; install: false leaves the route table alone', async (t) => {
  const lab = await Lab.create(t);
  const [hGw, hA, hB, hC] = (await lab.flat(4, ['gw', 'a', 'b', 'c'])) as Host[];
  await lab.exec(hGw!, 'ip', ['addr', 'add', `${BEHIND_GW}/32`, 'dev', 'lo']);
  const route = (install: boolean) => ({ tun: { unsafe_routes: [{ route: UNSAFE, via: GW, install }] } });
  const net = await OverlayNet.create(lab);
  await startStaticPeers(net, [
    {
      host: hGw!,
      name: 'gw',
      vpnIp: GW,
      impl: meshImpl,
      subnets: [UNSAFE],
      firewall: {
        outbound: [{ port: 'any', proto: 'any', host: 'any' }],
        inbound: [
          { proto: 'icmp', host: 'a', local_cidr: UNSAFE },
          { proto: 'icmp', host: 'b' },
          { proto: 'icmp', host: 'c', local_cidr: 'any' },
        ],
      },
    },
    { host: hA!, name: 'a', vpnIp: '10.99.0.2', impl: meshImpl, config: route(true) },
    { host: hB!, name: 'b', vpnIp: '10.99.0.3', impl: meshImpl, config: route(true) },
    { host: hC!, name: 'c', vpnIp: '10.99.0.4', impl: meshImpl, config: route(false) },
  ]);

  // local_cidr reaches the unsafe network.
  const a = await lab.ping(hA!, BEHIND_GW, { count: 3, timeoutSec: 2 });
  assert.ok(a.ok, `a -> ${BEHIND_GW}: ${JSON.stringify(a)}`);

  // No local_cidr: the VPN address answers, the unsafe network does not.
  assert.ok((await lab.ping(hB!, GW, { count: 2, timeoutSec: 2 })).ok, 'b -> the gateway VPN address');
  const b = await lab.ping(hB!, BEHIND_GW, { count: 2, timeoutSec: 1 });
  assert.equal(b.rttMs.length, 0, `b -> ${BEHIND_GW} must get no reply: ${JSON.stringify(b)}`);

  // install: true puts the route on the tun; install: false leaves it out.
  const routes = async (h: Host): Promise<string> =>
    (await lab.exec(h, 'ip', ['-4', 'route', 'show', UNSAFE])).stdout.trim();
  assert.match(await routes(hA!), /dev \S+/, 'a has the route');
  assert.equal(await routes(hC!), '', 'c has no route');
  // Routed by the user into the tunnel, c's packets take the unsafe route all the same.
  const dev = /dev (\S+)/.exec((await lab.exec(hC!, 'ip', ['-4', 'route', 'get', GW])).stdout)?.[1];
  assert.ok(dev, 'c has a tun device');
  await lab.exec(hC!, 'ip', ['route', 'add', UNSAFE, 'dev', dev]);
  const c = await lab.ping(hC!, BEHIND_GW, { count: 3, timeoutSec: 2 });
  assert.ok(c.ok, `c -> ${BEHIND_GW} once routed by hand: ${JSON.stringify(c)}`);
});
