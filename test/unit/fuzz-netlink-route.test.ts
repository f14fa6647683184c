// Fuzzing the route message parser of tun.use_system_route_table (pkg/routing/netlink-route.ts). Only root can
// change routes, but a routing daemon or a kernel newer than us may send what we do not expect. Inputs: byte
// mutations of valid route messages (single gateway, multipath, RTA_VIA, deletes) and random bytes; the learned
// table is fed what parses. Properties: never a throw, never a hang; every change names a valid prefix and only
// gateways inside the VPN network; the table never grows past its bound.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netContains, parseCidr } from '../../pkg/ip/ipv4.js';
import { parseRouteMessages } from '../../pkg/routing/netlink-route.js';
import { SystemRouteTable } from '../../pkg/routing/system-routes.js';
import { mutate, randomBytes, runFuzz } from './helpers/fuzz.js';
import { dumpEnd, routeMsg } from './helpers/netlink-route-msg.js';

const TUN = 4;
const VPN = parseCidr('10.1.0.0/16');

// Plain Uint8Arrays, not Buffers: the mutators copy with slice(), which on a Buffer is a view, so Buffer samples
// would be edited in place and drift away from valid messages after a few iterations.
const SAMPLES: Uint8Array[] = [
  routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9', metric: 7 }),
  routeMsg({ type: 'del', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9', metric: 7 }),
  routeMsg({
    type: 'new',
    dst: '0.0.0.0/0',
    table: 1000,
    nexthops: [
      { ifindex: TUN, gateway: '10.1.0.2', weight: 3 },
      { ifindex: TUN, gateway: '10.1.0.3', asVia: true },
    ],
  }),
  routeMsg({ type: 'new', dst: '172.16.0.0/12', oif: TUN, gateway: '172.31.0.1' }),
  Buffer.concat([
    routeMsg({ type: 'new', dst: '10.9.0.0/24', oif: TUN, gateway: '10.1.0.4' }),
    routeMsg({
      type: 'new',
      dst: '10.8.0.0/24',
      nexthops: [
        { ifindex: TUN, gateway: '10.1.0.5' },
        { ifindex: 2, gateway: '10.1.0.6' },
      ],
    }),
  ]),
  Buffer.concat([routeMsg({ type: 'new', dst: '10.7.0.0/16', oif: TUN, gateway: '10.1.0.7', dumpSeq: 3 }), dumpEnd(3)]),
  dumpEnd(4, 16),
].map((b) => new Uint8Array(b));

test('fuzz: route messages parse without throwing; changes stay inside the VPN and the table stays bounded', () => {
  const table = new SystemRouteTable(64);
  const stats = runFuzz('netlink-route', { iterations: 30_000, ms: 1500, seed: 0x5e7a }, (r) => {
    const roll = r.int(100);
    // Some samples as they are, so the properties are also checked on what certainly parses.
    const input =
      roll < 10 ? r.pick(SAMPLES) : roll < 85 ? mutate(r, r.pick(SAMPLES), SAMPLES, 6, 16_384) : randomBytes(r, 512);
    const { changes } = parseRouteMessages(input, TUN, VPN);
    for (const c of changes) {
      assert.ok(c.kind === 'delete' || c.gateways.length > 0, 'an add has gateways');
      assert.ok(Number.isInteger(Math.clz32(~c.dst.mask)) && (c.dst.ip & ~c.dst.mask) === 0, 'a network address');
      for (const g of c.gateways) {
        assert.ok(netContains(VPN, g.vpnIp), 'gateway inside the VPN');
        assert.ok(Number.isInteger(g.weight) && g.weight >= 1 && g.weight <= 256);
      }
      table.apply(c);
      assert.ok(table.size <= 64);
    }
  });
  assert.ok(stats.iterations > 100, `only ${stats.iterations} iterations`);
});
