// tun.use_system_route_table: parsing the kernel's route messages (netlink-route.ts), the learned table
// (system-routes.ts), how learned routes combine with the config's unsafe_routes (unsafe-routes.ts), and the
// watcher's handling of a full table (system-route-watch.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatIpPrefix, parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { parseRouteMessages, type RouteChange } from '../../pkg/routing/netlink-route.js';
import { SystemRouteWatch } from '../../pkg/routing/system-route-watch.js';
import { SystemRouteTable } from '../../pkg/routing/system-routes.js';
import { UnsafeRouteTable } from '../../pkg/routing/unsafe-routes.js';
import { dumpEnd, routeMsg } from './helpers/netlink-route-msg.js';

const TUN = 7;
const VPN = [parseIpPrefix('10.1.0.0/16'), parseIpPrefix('fd00:1::/64')];

// Read from a Linux 6.x netlink socket in a namespace whose TUN (10.1.0.1/16) had index 2:
//   ip route add 10.9.0.0/24 via 10.1.0.2 dev probe0
//   ip route add 10.8.0.0/24 nexthop via 10.1.0.2 dev probe0 weight 3 nexthop via 10.1.0.3 dev probe0
//   ip route del 10.9.0.0/24
const KERNEL_ADD =
  '3c000000180000066824156b8a0e000002180000fe0300011000000008000f00fe000000080001000a090000080005000a0100020800040002000000';
const KERNEL_MULTIPATH =
  '50000000180000066824156b8b0e000002180000fe0300011000000008000f00fe000000080001000a080000240009001000100202000000080005000a0100021000100002000000080005000a010003';
const KERNEL_DEL =
  '3c000000190000006824156b8c0e000002180000fe0300011000000008000f00fe000000080001000a090000080005000a0100020800040002000000';
// The connected route the kernel adds for the TUN's own address (no gateway).
const KERNEL_CONNECTED =
  '3c00000018000006000000000000000002100000fe02fd011000000008000f00fe000000080001000a010000080007000a0100010800040002000000';

function show(c: RouteChange): string {
  return `${c.kind} ${formatIpPrefix(c.dst)} t${c.table} m${c.metric} via ${c.gateways.map((g) => `${formatVpnIp(g.vpnIp)}*${g.weight}`).join(',')}`;
}

function parse(buf: Uint8Array, tun = TUN) {
  const p = parseRouteMessages(buf, tun, VPN);
  return { changes: p.changes.map(show), ignored: p.ignored.map((i) => `${i.reason} ${formatIpPrefix(i.dst)}`) };
}

test('kernel route messages: a gateway route, a weighted multipath route and a delete on the TUN', () => {
  assert.deepEqual(parse(Buffer.from(KERNEL_ADD, 'hex'), 2).changes, ['add 10.9.0.0/24 t254 m0 via 10.1.0.2*1']);
  assert.deepEqual(parse(Buffer.from(KERNEL_MULTIPATH, 'hex'), 2).changes, [
    'add 10.8.0.0/24 t254 m0 via 10.1.0.2*3,10.1.0.3*1',
  ]);
  assert.deepEqual(parse(Buffer.from(KERNEL_DEL, 'hex'), 2).changes, ['delete 10.9.0.0/24 t254 m0 via 10.1.0.2*1']);
  // A route added that we do not follow is a delete of its key (it may have replaced one of ours), no gateways.
  assert.deepEqual(parse(Buffer.from(KERNEL_CONNECTED, 'hex'), 2), {
    changes: ['delete 10.1.0.0/16 t254 m0 via '],
    ignored: ['no-gateway 10.1.0.0/16'],
  });
  // The same messages name another interface for a node whose TUN has another index: not ours.
  assert.deepEqual(parse(Buffer.from(KERNEL_ADD + KERNEL_MULTIPATH + KERNEL_DEL, 'hex'), 9), {
    changes: ['delete 10.9.0.0/24 t254 m0 via ', 'delete 10.8.0.0/24 t254 m0 via '],
    ignored: [],
  });
});

test('route messages: only next hops on our TUN with a VPN gateway count; RTA_VIA, metric and table are read', () => {
  const buf = Buffer.concat([
    routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9', metric: 50, table: 1000 }),
    routeMsg({ type: 'new', dst: '192.168.6.0/24', oif: TUN, gateway: '172.16.0.1' }), // gateway outside the VPN
    routeMsg({ type: 'new', dst: '192.168.7.0/24', oif: 3, gateway: '10.1.0.9' }), // another interface
    routeMsg({ type: 'new', dst: '192.168.8.0/24', family: 28, oif: TUN, gateway: '10.1.0.9' }), // MPLS
    routeMsg({ type: 'new', dst: '192.168.9.0/24', family: 10, oif: TUN, gateway: '10.1.0.9' }), // IPv6, 4-byte addresses
    routeMsg({
      type: 'new',
      dst: '0.0.0.0/0',
      nexthops: [
        { ifindex: TUN, gateway: '10.1.0.2', weight: 2 },
        { ifindex: 3, gateway: '10.1.0.3' }, // another interface: left out
        { ifindex: TUN, gateway: '10.1.0.4', weight: 5, asVia: true },
        { ifindex: TUN, gateway: '10.2.0.4' }, // outside the VPN: left out, reported
      ],
    }),
    routeMsg({ type: 'del', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9', metric: 50, table: 1000 }),
  ]);
  assert.deepEqual(parse(buf), {
    changes: [
      'add 192.168.5.0/24 t1000 m50 via 10.1.0.9*1',
      'delete 192.168.6.0/24 t254 m0 via ',
      'delete 192.168.7.0/24 t254 m0 via ',
      'add 0.0.0.0/0 t254 m0 via 10.1.0.2*2,10.1.0.4*5',
      'delete 192.168.5.0/24 t1000 m50 via 10.1.0.9*1',
    ],
    ignored: ['gateway-outside-vpn 192.168.6.0/24', 'gateway-outside-vpn 0.0.0.0/0'],
  });
});

test('route messages: a read cut short keeps the whole messages before the cut', () => {
  const a = routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9' });
  const b = routeMsg({ type: 'new', dst: '192.168.6.0/24', oif: TUN, gateway: '10.1.0.9' });
  const both = Buffer.concat([a, b]);
  assert.deepEqual(parse(both.subarray(0, both.length - 1)).changes, ['add 192.168.5.0/24 t254 m0 via 10.1.0.9*1']);
  assert.deepEqual(parse(Buffer.alloc(0)).changes, []);
});

function change(
  kind: RouteChange['kind'],
  dst: string,
  via: Array<[string, number]>,
  metric = 0,
  table = 254,
): RouteChange {
  return {
    kind,
    dst: parseIpPrefix(dst),
    table,
    metric,
    gateways: via.map(([g, weight]) => ({ vpnIp: parseVpnIp(g), weight })),
  };
}

function via(t: SystemRouteTable, dst: string): string | null {
  const m = dst.includes(':') ? t.match6(formatVpnIp(parseVpnIp(dst))) : t.match(parseIpv4(dst));
  return m === null ? null : `/${m.prefixLen} ${m.gateways.map((g) => formatVpnIp(g.vpnIp)).join(',')}`;
}

test('learned table: longest prefix, lowest metric per destination, a delete removes only the route it names', () => {
  const t = new SystemRouteTable();
  assert.equal(t.apply(change('add', '192.168.0.0/16', [['10.1.0.2', 1]])), 'added');
  assert.equal(t.apply(change('add', '192.168.5.0/24', [['10.1.0.3', 1]], 100)), 'added');
  assert.equal(t.apply(change('add', '192.168.5.0/24', [['10.1.0.4', 1]], 10)), 'added');
  assert.equal(via(t, '192.168.5.1'), '/24 10.1.0.4');
  assert.equal(via(t, '192.168.6.1'), '/16 10.1.0.2');
  assert.equal(via(t, '10.9.0.1'), null);
  assert.equal(
    t.apply(
      change(
        'add',
        '192.168.5.0/24',
        [
          ['10.1.0.5', 1],
          ['10.1.0.6', 2],
        ],
        10,
      ),
    ),
    'replaced',
  );
  assert.equal(via(t, '192.168.5.1'), '/24 10.1.0.5,10.1.0.6');
  assert.equal(t.apply(change('delete', '192.168.5.0/24', [['10.1.0.5', 1]], 10)), 'removed');
  assert.equal(via(t, '192.168.5.1'), '/24 10.1.0.3', 'the metric-100 route is still in the kernel');
  assert.equal(t.apply(change('delete', '192.168.5.0/24', [['10.1.0.3', 1]], 100)), 'removed');
  assert.equal(via(t, '192.168.5.1'), '/16 10.1.0.2');
  assert.equal(t.apply(change('delete', '192.168.5.0/24', [['10.1.0.3', 1]], 100)), 'unknown');
  assert.equal(t.size, 1);
  assert.equal(t.apply(change('add', '0.0.0.0/0', [['10.1.0.7', 1]])), 'added');
  assert.equal(via(t, '8.8.8.8'), '/0 10.1.0.7');
  assert.deepEqual(
    t.list().map((r) => formatIpPrefix(r.dst)),
    ['192.168.0.0/16', '0.0.0.0/0'],
  );
});

test('learned table is bounded: a new route beyond the bound is refused, held ones still change', () => {
  const t = new SystemRouteTable(3);
  for (let i = 0; i < 3; i++) assert.equal(t.apply(change('add', `192.168.${i}.0/24`, [['10.1.0.2', 1]])), 'added');
  assert.equal(t.apply(change('add', '192.168.3.0/24', [['10.1.0.2', 1]])), 'full');
  assert.equal(via(t, '192.168.3.1'), null);
  assert.equal(t.apply(change('add', '192.168.0.0/24', [['10.1.0.9', 1]])), 'replaced');
  assert.equal(t.apply(change('delete', '192.168.1.0/24', [['10.1.0.2', 1]])), 'removed');
  assert.equal(t.apply(change('add', '192.168.3.0/24', [['10.1.0.2', 1]])), 'added');
  assert.equal(t.size, 3);
});

test('unsafe routes: the most specific of config and learned wins; learned wins a tie, ECMP weights apply', () => {
  const learned = new SystemRouteTable();
  const routes = new UnsafeRouteTable(
    [
      { route: '192.168.0.0/16', via: [{ gateway: '10.1.0.2', weight: 1 }] },
      { route: '192.168.5.0/24', via: [{ gateway: '10.1.0.3', weight: 1 }] },
    ],
    learned,
  );
  const up = () => true;
  const gw = (dst: string) => {
    const g = routes.gatewayFor(parseIpv4(dst), undefined, up);
    return g === null ? null : formatVpnIp(g);
  };
  assert.equal(gw('192.168.5.1'), '10.1.0.3');
  learned.apply(change('add', '192.168.0.0/16', [['10.1.0.8', 1]]));
  assert.equal(gw('192.168.9.1'), '10.1.0.8', 'same prefix as the config: learned');
  assert.equal(gw('192.168.5.1'), '10.1.0.3', 'the config /24 is more specific');
  learned.apply(change('add', '192.168.5.128/25', [['10.1.0.9', 1]]));
  assert.equal(gw('192.168.5.200'), '10.1.0.9');
  assert.equal(gw('192.168.5.1'), '10.1.0.3');
  learned.apply(change('add', '172.16.0.0/12', [['10.1.0.4', 1]]));
  assert.equal(gw('172.20.0.1'), '10.1.0.4', 'learned only');
  learned.apply(change('delete', '172.16.0.0/12', [['10.1.0.4', 1]]));
  assert.equal(gw('172.20.0.1'), null);

  // A multipath kernel route: flows spread by weight over its gateways (1:3).
  learned.apply(
    change('add', '172.16.0.0/12', [
      ['10.1.0.4', 1],
      ['10.1.0.5', 3],
    ]),
  );
  const counts = new Map<string, number>();
  for (let port = 1000; port < 1400; port++) {
    const udp = Buffer.alloc(28);
    udp[0] = 0x45;
    udp[9] = 17;
    udp.writeUInt16BE(28, 2);
    udp.writeUInt32BE(parseIpv4('10.1.0.1'), 12);
    udp.writeUInt32BE(parseIpv4('172.20.0.1'), 16);
    udp.writeUInt16BE(port, 20);
    udp.writeUInt16BE(53, 22);
    const g = formatVpnIp(routes.gatewayFor(parseIpv4('172.20.0.1'), udp, up)!);
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  const share = (counts.get('10.1.0.5') ?? 0) / 400;
  assert.ok(share > 0.65 && share < 0.85, `10.1.0.5 took ${share} of the flows (weight 3 of 4)`);
});

test('watch: each route change is applied to the table; beyond the bound it is counted as a drop', () => {
  const table = new SystemRouteTable(1);
  const counters = new Counters();
  const lines: string[] = [];
  const watch = new SystemRouteWatch({
    table,
    vpnNetworks: () => VPN,
    log: new Logger('info', 'text', (l) => lines.push(l)),
    clock: new ManualClock(),
    counters,
  });
  (watch as unknown as { tunIndex: number }).tunIndex = TUN;
  watch.messages(routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9' }));
  watch.messages(routeMsg({ type: 'new', dst: '192.168.6.0/24', oif: TUN, gateway: '10.1.0.9' }));
  assert.equal(via(table, '192.168.5.1'), '/24 10.1.0.9');
  assert.equal(via(table, '192.168.6.1'), null);
  assert.equal(counters.get('drops', 'system-routes-full'), 1);
  watch.messages(routeMsg({ type: 'del', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9' }));
  assert.equal(via(table, '192.168.5.1'), null);
  assert.equal(lines.filter((l) => l.includes('Adding route')).length, 1);
  assert.equal(lines.filter((l) => l.includes('Removing route')).length, 1);
});

test('watch: a followed route replaced in the kernel by one we do not follow (another device, no gateway) is dropped', () => {
  const table = new SystemRouteTable();
  const lines: string[] = [];
  const watch = new SystemRouteWatch({
    table,
    vpnNetworks: () => VPN,
    log: new Logger('info', 'text', (l) => lines.push(l)),
    clock: new ManualClock(),
    counters: new Counters(),
  });
  (watch as unknown as { tunIndex: number }).tunIndex = TUN;
  const add = () =>
    watch.messages(routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: TUN, gateway: '10.1.0.9', metric: 5 }));
  add();
  watch.messages(routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: 3, gateway: '172.16.0.1', metric: 6 })); // another key
  assert.equal(via(table, '192.168.5.1'), '/24 10.1.0.9');
  watch.messages(routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: 3, gateway: '172.16.0.1', metric: 5 })); // `ip route replace ... dev eth0`
  assert.equal(via(table, '192.168.5.1'), null);
  add();
  watch.messages(routeMsg({ type: 'new', dst: '192.168.5.0/24', oif: TUN, metric: 5 })); // `ip route replace ... dev tun`, no gateway
  assert.equal(via(table, '192.168.5.1'), null);
  assert.equal(lines.filter((l) => l.includes('Removing route')).length, 2);
});

function watchWithSends(table: SystemRouteTable, clock = new ManualClock()) {
  const counters = new Counters();
  const sent: number[] = [];
  const lines: string[] = [];
  const watch = new SystemRouteWatch({
    table,
    vpnNetworks: () => VPN,
    log: new Logger('info', 'text', (l) => lines.push(l)),
    clock,
    counters,
  });
  (watch as unknown as { tunIndex: number }).tunIndex = TUN;
  watch.send = (bytes) => {
    const b = Buffer.from(bytes);
    assert.equal(b.readUInt16LE(4), 26, 'RTM_GETROUTE');
    assert.equal(b.readUInt16LE(6), 0x301, 'NLM_F_REQUEST | NLM_F_DUMP');
    assert.equal(b[16], 0, 'AF_UNSPEC: both families');
    sent.push(b.readUInt32LE(8));
  };
  return { watch, counters, sent, lines };
}

test('watch: after lost events the table is re-read; routes gone meanwhile are dropped, missed ones learned', () => {
  const table = new SystemRouteTable();
  const { watch, counters, sent } = watchWithSends(table);
  watch.messages(routeMsg({ type: 'new', dst: '192.168.1.0/24', oif: TUN, gateway: '10.1.0.2' }));
  watch.messages(routeMsg({ type: 'new', dst: '192.168.2.0/24', oif: TUN, gateway: '10.1.0.2' })); // deleted while events were lost
  watch.lost();
  assert.equal(counters.get('drops', 'system-routes-lost'), 1);
  assert.equal(sent.length, 1);
  const seq = sent[0]!;
  watch.messages(
    Buffer.concat([
      routeMsg({ type: 'new', dst: '192.168.1.0/24', oif: TUN, gateway: '10.1.0.2', dumpSeq: seq }),
      routeMsg({ type: 'new', dst: '192.168.3.0/24', oif: TUN, gateway: '10.1.0.3', dumpSeq: seq }), // added while lost
      routeMsg({ type: 'new', dst: '172.16.0.0/12', oif: 3, gateway: '172.31.0.1', dumpSeq: seq }), // another device
    ]),
  );
  watch.messages(routeMsg({ type: 'new', dst: '192.168.4.0/24', oif: TUN, gateway: '10.1.0.4' })); // an event during the dump
  assert.equal(via(table, '192.168.2.1'), '/24 10.1.0.2', 'nothing removed before the dump ends');
  watch.messages(dumpEnd(seq));
  assert.deepEqual(
    table
      .list()
      .map((r) => formatIpPrefix(r.dst))
      .sort(),
    ['192.168.1.0/24', '192.168.3.0/24', '192.168.4.0/24'],
  );
  assert.equal(sent.length, 1);
});

test('watch: a dump that ends in an error removes nothing and is asked again, 3 times at most', () => {
  const table = new SystemRouteTable();
  const { watch, sent, lines } = watchWithSends(table);
  watch.messages(routeMsg({ type: 'new', dst: '192.168.1.0/24', oif: TUN, gateway: '10.1.0.2' }));
  watch.lost();
  watch.messages(dumpEnd(sent[0]!, 16)); // EBUSY
  assert.equal(sent.length, 2);
  watch.messages(dumpEnd(sent[1]!, 16));
  assert.equal(sent.length, 3);
  watch.messages(dumpEnd(sent[2]!, 16));
  assert.equal(sent.length, 3, 'gave up after 3');
  assert.equal(via(table, '192.168.1.1'), '/24 10.1.0.2', 'an incomplete dump removes nothing');
  assert.ok(lines.some((l) => l.includes('Could not re-read the route table consistently')));
  watch.messages(dumpEnd(sent[2]!)); // a stray end: nothing
  watch.lost(); // later losses start again
  assert.equal(sent.length, 4);
  watch.messages(dumpEnd(sent[3]!));
  assert.equal(via(table, '192.168.1.1'), null, 'a complete dump without the route removes it');
});

test('watch: events lost again during a dump, or a dump the kernel marks interrupted, make it remove nothing and another dump follow, however often', () => {
  const table = new SystemRouteTable();
  const { watch, sent } = watchWithSends(table);
  watch.messages(routeMsg({ type: 'new', dst: '192.168.1.0/24', oif: TUN, gateway: '10.1.0.2' }));
  watch.lost();
  for (let i = 0; i < 5; i++) {
    if (i % 2 === 0)
      watch.lost(); // during dump i: no new request until it ends
    else watch.messages(routeMsg({ type: 'new', dst: '10.5.0.0/16', oif: 3, dumpSeq: sent[i]!, interrupted: true })); // NLM_F_DUMP_INTR
    assert.equal(sent.length, i + 1);
    watch.messages(dumpEnd(sent[i]!));
    assert.equal(sent.length, i + 2);
    assert.equal(via(table, '192.168.1.1'), '/24 10.1.0.2', 'a dump overtaken by lost events removes nothing');
  }
  watch.messages(dumpEnd(sent[5]!));
  assert.equal(sent.length, 6);
  assert.equal(via(table, '192.168.1.1'), null);
});

test('watch: a dump silent for 1 s is asked again (its answer may have been dropped); answers keep it alive', () => {
  const clock = new ManualClock();
  const table = new SystemRouteTable();
  const { watch, sent, lines } = watchWithSends(table, clock);
  watch.messages(routeMsg({ type: 'new', dst: '192.168.1.0/24', oif: TUN, gateway: '10.1.0.2' }));
  watch.lost();
  // Answers with its sequence number restart the wait.
  clock.advance(900);
  watch.messages(routeMsg({ type: 'new', dst: '192.168.1.0/24', oif: TUN, gateway: '10.1.0.2', dumpSeq: sent[0]! }));
  clock.advance(900);
  assert.equal(sent.length, 1);
  // Silence, with events coming meanwhile: asked again, however often.
  watch.messages(routeMsg({ type: 'new', dst: '192.168.2.0/24', oif: TUN, gateway: '10.1.0.2' }));
  clock.advance(100);
  assert.equal(sent.length, 2);
  for (let i = 0; i < 4; i++) {
    watch.messages(routeMsg({ type: 'new', dst: '192.168.3.0/24', oif: TUN, gateway: '10.1.0.2' }));
    clock.advance(1000);
  }
  assert.equal(sent.length, 6);
  // Silence without events: as an error, 3 dumps in a row at most.
  clock.advance(1000);
  clock.advance(1000);
  clock.advance(1000);
  assert.equal(sent.length, 8);
  clock.advance(5000);
  assert.equal(sent.length, 8, 'gave up');
  assert.ok(lines.some((l) => l.includes('Could not re-read the route table consistently')));
  assert.equal(via(table, '192.168.1.1'), '/24 10.1.0.2', 'nothing removed by dumps that never ended');
  // A dump that ends stops its timer.
  watch.lost();
  watch.messages(dumpEnd(sent[8]!));
  clock.advance(5000);
  assert.equal(sent.length, 9);
  assert.equal(via(table, '192.168.1.1'), null);
});

// Read from a Linux 6.18 netlink socket in a namespace whose TUN (10.1.0.1/16, fd00:1::1/64) had index 2:
//   ip -6 route add fd01::/64 via fd00:1::2 dev probe0
//   ip -6 route add fd02::/64 nexthop via fd00:1::2 dev probe0 weight 3 nexthop via fd00:1::3 dev probe0
//   ip -6 route del fd02::/64 via fd00:1::2 dev probe0      (the kernel deletes that next hop only)
//   ip -6 route del fd02::/64                               (the one left)
//   ip route add 10.9.0.0/24 via inet6 fd00:1::2 dev probe0 (an IPv4 route via an IPv6 gateway: RTA_VIA)
const KERNEL6_ADD =
  '8800000018000006c666156bd71300000a400000fe0300011000000008000f00fe00000014000100fd010000000000000000000000000000080006000004000014000500fd000001000000000000000000000002080004000200000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000';
const KERNEL6_MULTIPATH =
  'a800000018000004c666156be31300000a400000fe0300010000000008000f00fe00000014000100fd02000000000000000000000000000008000600000400003c0009001c0010020200000014000500fd0000010000000000000000000000021c0010000200000014000500fd00000100000000000000000000000324000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000';
const KERNEL6_DEL_HOP =
  '8800000019000000c666156be81300000a400000fe0300011000000008000f00fe00000014000100fd020000000000000000000000000000080006000004000014000500fd000001000000000000000000000002080004000200000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000';
const KERNEL6_DEL_LAST =
  '8800000019000000c666156bfd1300000a400000fe0300011000000008000f00fe00000014000100fd020000000000000000000000000000080006000004000014000500fd000001000000000000000000000003080004000200000024000c0000000000000000000000000000000000000000000000000000000000000000000500140000000000';
const KERNEL_VIA_INET6 =
  '4c00000018000006c666156bff13000002180000fe0300010000000008000f00fe000000080001000a090000160012000a00fd00000100000000000000000000000200000800040002000000';

test('kernel IPv6 route messages: a gateway route, a weighted multipath route, next hops deleted one at a time, an IPv4 route via inet6', () => {
  const table = new SystemRouteTable();
  const step = (hex: string, expected: string) => {
    const { changes } = parseRouteMessages(Buffer.from(hex, 'hex'), 2, VPN);
    assert.deepEqual(changes.map(show), [expected]);
    table.apply(changes[0]!);
  };
  step(KERNEL6_ADD, 'add fd01::/64 t254 m1024 via fd00:1::2*1');
  step(KERNEL6_MULTIPATH, 'add fd02::/64 t254 m1024 via fd00:1::2*3,fd00:1::3*1');
  assert.equal(via(table, 'fd01::9'), '/64 fd00:1::2');
  assert.equal(via(table, 'fd02::9'), '/64 fd00:1::2,fd00:1::3');
  step(KERNEL6_DEL_HOP, 'delete-hops fd02::/64 t254 m1024 via fd00:1::2*1');
  assert.equal(via(table, 'fd02::9'), '/64 fd00:1::3', 'the kernel still routes fd02::/64 via fd00:1::3');
  step(KERNEL6_DEL_LAST, 'delete-hops fd02::/64 t254 m1024 via fd00:1::3*1');
  assert.equal(via(table, 'fd02::9'), null);
  assert.equal(via(table, 'fd01::9'), '/64 fd00:1::2');
  step(KERNEL_VIA_INET6, 'add 10.9.0.0/24 t254 m0 via fd00:1::2*1');
  assert.equal(via(table, '10.9.0.1'), '/24 fd00:1::2');
  assert.equal(table.size, 2);
});

test('IPv6 route messages: gateways outside the VPN networks are ignored, a mapped gateway is IPv4, host bits cleared', () => {
  const buf = Buffer.concat([
    routeMsg({ type: 'new', dst: 'fd05::/48', oif: TUN, gateway: 'fd00:2::1' }), // outside fd00:1::/64
    routeMsg({
      type: 'new',
      dst: 'fd06:0:0:1ff::/56',
      metric: 7,
      nexthops: [
        { ifindex: TUN, gateway: '::ffff:a01:4', weight: 2 }, // ::ffff:10.1.0.4
        { ifindex: 3, gateway: 'fd00:1::5' }, // another interface
        { ifindex: TUN, gateway: 'fd00:1::6', asVia: true },
      ],
    }),
    routeMsg({ type: 'new', dst: 'fd07::/64', oif: TUN }), // on the tun, no gateway
    routeMsg({ type: 'del', dst: 'fd07::/64', oif: TUN, gateway: 'fd00:1::6' }),
  ]);
  assert.deepEqual(parse(buf), {
    changes: [
      'delete fd05::/48 t254 m0 via ',
      'add fd06:0:0:100::/56 t254 m7 via 10.1.0.4*2,fd00:1::6*1',
      'delete fd07::/64 t254 m0 via ',
      'delete-hops fd07::/64 t254 m0 via fd00:1::6*1',
    ],
    ignored: ['gateway-outside-vpn fd05::/48', 'no-gateway fd07::/64'],
  });
  // A v6-only host: no IPv4 network, so an IPv4 gateway is outside.
  const v6only = parseRouteMessages(routeMsg({ type: 'new', dst: '10.9.0.0/24', oif: TUN, gateway: '10.1.0.2' }), TUN, [
    parseIpPrefix('fd00:1::/64'),
  ]);
  assert.deepEqual(v6only.changes.map(show), ['delete 10.9.0.0/24 t254 m0 via ']);
});

test('unsafe routes, IPv6: the most specific of config and learned wins, learned wins a tie, answers follow the learned table', () => {
  const learned = new SystemRouteTable();
  const routes = new UnsafeRouteTable([{ route: 'fd05::/48', via: [{ gateway: 'fd00:1::2', weight: 1 }] }], learned);
  const up = () => true;
  const gw = (dst: string, packet?: Uint8Array) => {
    const g = routes.gatewayFor(parseVpnIp(dst), packet, up);
    return g === null ? null : formatVpnIp(g);
  };
  assert.equal(gw('fd05::1'), 'fd00:1::2');
  // Asked again after the learned table changed: not the answer kept for the last destination.
  learned.apply(change('add', 'fd05::/48', [['fd00:1::3', 1]]));
  assert.equal(gw('fd05::1'), 'fd00:1::3', 'same prefix as the config: learned');
  learned.apply(change('add', 'fd05:0:0:1::/64', [['fd00:1::4', 1]]));
  assert.equal(gw('fd05:0:0:1::1'), 'fd00:1::4');
  assert.equal(gw('fd05:0:0:2::1'), 'fd00:1::3');
  learned.apply(change('delete-hops', 'fd05::/48', [['fd00:1::3', 1]]));
  assert.equal(gw('fd05:0:0:2::1'), 'fd00:1::2', 'the config route again');
  assert.equal(gw('fd09::1'), null);
  learned.apply(change('add', '::/0', [['fd00:1::7', 1]]));
  assert.equal(gw('fd09::1'), 'fd00:1::7', 'a learned IPv6 default route');
  assert.equal(gw('10.200.0.1'), null, 'the IPv6 default does not route IPv4');

  // A multipath kernel route: IPv6 UDP flows spread by weight over its gateways (1:3).
  learned.apply(
    change('add', 'fd0a::/64', [
      ['fd00:1::4', 1],
      ['fd00:1::5', 3],
    ]),
  );
  const counts = new Map<string, number>();
  for (let port = 1000; port < 1400; port++) {
    const udp = Buffer.alloc(48);
    udp[0] = 0x60;
    udp.writeUInt16BE(8, 4);
    udp[6] = 17;
    udp.writeUInt16BE(port, 40);
    udp.writeUInt16BE(53, 42);
    const g = gw('fd0a::1', udp)!;
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  const share = (counts.get('fd00:1::5') ?? 0) / 400;
  assert.ok(share > 0.65 && share < 0.85, `fd00:1::5 took ${share} of the flows (weight 3 of 4)`);
});

test('learned table: IPv4 and IPv6 share the bound; a next-hop delete of hops not held changes nothing', () => {
  const t = new SystemRouteTable(2);
  assert.equal(t.apply(change('add', '192.168.0.0/24', [['10.1.0.2', 1]])), 'added');
  assert.equal(t.apply(change('add', 'fd01::/64', [['fd00:1::2', 1]])), 'added');
  assert.equal(t.apply(change('add', 'fd02::/64', [['fd00:1::2', 1]])), 'full');
  assert.equal(t.apply(change('delete-hops', 'fd01::/64', [['fd00:1::9', 1]])), 'unknown');
  assert.equal(via(t, 'fd01::1'), '/64 fd00:1::2');
  assert.equal(t.apply(change('delete', 'fd01::/64', [])), 'removed', 'a replacement we do not follow: gone whole');
  assert.equal(t.apply(change('add', 'fd02::/64', [['fd00:1::2', 1]])), 'added');
  assert.deepEqual(
    t.list().map((r) => formatIpPrefix(r.dst)),
    ['192.168.0.0/24', 'fd02::/64'],
  );
});

test('watch: after lost events the re-read covers IPv6 routes too; a next-hop delete is logged as such', () => {
  const table = new SystemRouteTable();
  const { watch, sent, lines } = watchWithSends(table);
  watch.messages(routeMsg({ type: 'new', dst: 'fd01::/64', oif: TUN, gateway: 'fd00:1::2', metric: 1024 }));
  watch.messages(routeMsg({ type: 'new', dst: 'fd02::/64', oif: TUN, gateway: 'fd00:1::2', metric: 1024 })); // deleted while lost
  watch.messages(
    routeMsg({
      type: 'new',
      dst: 'fd03::/64',
      metric: 1024,
      nexthops: [
        { ifindex: TUN, gateway: 'fd00:1::2' },
        { ifindex: TUN, gateway: 'fd00:1::3' },
      ],
    }),
  );
  watch.messages(routeMsg({ type: 'del', dst: 'fd03::/64', oif: TUN, gateway: 'fd00:1::2', metric: 1024 }));
  assert.ok(lines.some((l) => l.includes('Removing next hops of route') && l.includes('fd03::/64')));
  assert.equal(via(table, 'fd03::1'), '/64 fd00:1::3');
  watch.lost();
  const seq = sent[0]!;
  watch.messages(
    Buffer.concat([
      routeMsg({ type: 'new', dst: 'fd01::/64', oif: TUN, gateway: 'fd00:1::2', metric: 1024, dumpSeq: seq }),
      routeMsg({ type: 'new', dst: 'fd03::/64', oif: TUN, gateway: 'fd00:1::3', metric: 1024, dumpSeq: seq }),
      routeMsg({ type: 'new', dst: 'fd04::/64', oif: TUN, gateway: 'fd00:1::4', metric: 1024, dumpSeq: seq }), // missed
      routeMsg({ type: 'new', dst: '10.9.0.0/24', oif: TUN, gateway: '10.1.0.2', dumpSeq: seq }),
      dumpEnd(seq),
    ]),
  );
  assert.deepEqual(
    table
      .list()
      .map((r) => formatIpPrefix(r.dst))
      .sort(),
    ['10.9.0.0/24', 'fd01::/64', 'fd03::/64', 'fd04::/64'],
  );
  assert.equal(via(table, 'fd02::1'), null);
});

test('learned table, IPv6: prefixes of any length match by their bits, not only whole hex digits', () => {
  const t = new SystemRouteTable();
  t.apply(change('add', 'fd05:0:0:8000::/49', [['fd00:1::2', 1]]));
  t.apply(change('add', 'fd05::/47', [['fd00:1::3', 1]]));
  t.apply(change('add', 'fd05:0:0:8000::7/128', [['fd00:1::4', 1]]));
  t.apply(change('add', '::/0', [['fd00:1::5', 1]]));
  assert.equal(via(t, 'fd05:0:0:8001::1'), '/49 fd00:1::2');
  assert.equal(via(t, 'fd05:0:0:ffff::1'), '/49 fd00:1::2');
  assert.equal(via(t, 'fd05:0:0:7fff::1'), '/47 fd00:1::3', 'bit 49 clear: not in the /49');
  assert.equal(via(t, 'fd05:0:1::1'), '/47 fd00:1::3', 'bit 48 set: still in the /47');
  assert.equal(via(t, 'fd05:0:2::1'), '/0 fd00:1::5', 'bit 47 set: not in the /47');
  assert.equal(via(t, 'fd05:0:0:8000::7'), '/128 fd00:1::4');
  assert.equal(via(t, 'fd05:0:0:8000::6'), '/49 fd00:1::2');
  assert.deepEqual(
    t.list().map((r) => formatIpPrefix(r.dst)),
    ['fd05:0:0:8000::7/128', 'fd05:0:0:8000::/49', 'fd05::/47', '::/0'],
  );
  assert.deepEqual(t.retainOnly(new Set()).length, 4, 'keys turn back into the routes they hold');
  assert.equal(t.size, 0);
});
