// Fuzzing the route message parser of tun.use_system_route_table (pkg/routing/netlink-route.ts). Only root can
// change routes, but a routing daemon or a kernel newer than us may send what we do not expect. Inputs: byte
// mutations of valid route messages of both families (single gateway, multipath, RTA_VIA, an IPv4 route via an
// IPv6 gateway, deletes, IPv6 next-hop deletes) and random bytes; the learned table is fed what parses and looked
// up. Properties: never a throw, never a hang; every change names a valid prefix (host bits clear) and only gateways
// inside the VPN networks; the table never grows past its bound.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { vpnIpInPrefix } from '../../pkg/ip/vpn-ip.js';
import { parseRouteMessages } from '../../pkg/routing/netlink-route.js';
import { SystemRouteTable } from '../../pkg/routing/system-routes.js';
import { mutate, randomBytes, runFuzz } from './helpers/fuzz.js';
import { dumpEnd, routeMsg } from './helpers/netlink-route-msg.js';

const TUN = 4;
const VPN = [parseIpPrefix('10.1.0.0/16'), parseIpPrefix('fd00:1::/64')];

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
  routeMsg({ type: 'new', dst: 'fd01::/64', oif: TUN, gateway: 'fd00:1::2', metric: 1024 }),
  routeMsg({ type: 'del', dst: 'fd01::/64', oif: TUN, gateway: 'fd00:1::2', metric: 1024 }),
  routeMsg({
    type: 'new',
    dst: '::/0',
    nexthops: [
      { ifindex: TUN, gateway: 'fd00:1::2', weight: 3 },
      { ifindex: TUN, gateway: 'fd00:1::3', asVia: true },
      { ifindex: TUN, gateway: '::ffff:a01:4' },
      { ifindex: 2, gateway: 'fd00:1::5' },
    ],
  }),
  routeMsg({ type: 'new', dst: 'fd02:0:0:1::/96', oif: TUN, gateway: 'fd00:2::1' }),
  routeMsg({ type: 'new', dst: '10.9.0.0/24', oif: TUN, nexthops: [{ ifindex: TUN, gateway: 'fd00:1::2' }] }),
  Buffer.concat([
    routeMsg({ type: 'new', dst: 'fd03::/48', oif: TUN, gateway: 'fd00:1::7', dumpSeq: 5 }),
    routeMsg({ type: 'new', dst: '10.6.0.0/16', oif: TUN, gateway: '10.1.0.7', dumpSeq: 5 }),
    dumpEnd(5),
  ]),
].map((b) => new Uint8Array(b));

test('fuzz: route messages parse without throwing; changes stay inside the VPN and the table stays bounded', () => {
  const table = new SystemRouteTable(64);
  const stats = runFuzz('netlink-route', { iterations: 30_000, minIterations: 101, ms: 1500, seed: 0x5e7a }, (r) => {
    const roll = r.int(100);
    // Some samples as they are, so the properties are also checked on what certainly parses.
    const input =
      roll < 10 ? r.pick(SAMPLES) : roll < 85 ? mutate(r, r.pick(SAMPLES), SAMPLES, 6, 16_384) : randomBytes(r, 512);
    const { changes } = parseRouteMessages(input, TUN, VPN);
    for (const c of changes) {
      assert.ok(c.kind === 'delete' || c.gateways.length > 0, 'an add or a next-hop delete has gateways');
      const { addr, bits } = c.dst;
      assert.ok(addr.bytes.length === (addr.family === 4 ? 4 : 16) && bits >= 0 && bits <= addr.bytes.length * 8);
      assert.ok(
        addr.bytes.every((b, i) => (b & ~(0xff00 >> Math.max(0, Math.min(8, bits - 8 * i)))) === 0),
        'a network address: host bits clear',
      );
      for (const g of c.gateways) {
        assert.ok(
          VPN.some((n) => vpnIpInPrefix(g.vpnIp, n)),
          'gateway inside the VPN',
        );
        assert.ok(Number.isInteger(g.weight) && g.weight >= 1 && g.weight <= 256);
      }
      table.apply(c);
      assert.ok(table.size <= 64);
      table.match(0x0a090001);
      table.match6('fd01::1');
    }
  });
  assert.ok(stats.iterations > 100, `only ${stats.iterations} iterations`);
});
