import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { LighthouseClient } from '../../pkg/lighthouse/client.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { lighthouseClientEnv } from './helpers/lighthouse-client-env.js';

// Several overlay addresses per host on the lighthouse (docs/ipv6.md), as Nebula 1.10's lighthouse.go: a host is
// found by any of its addresses and answered about naming the address asked; v1 tunnels never carry IPv6 (the
// message is skipped and counted, or its IPv6 relays left out). Every message goes through the codec, as on the wire.

const ip = parseIpv4;
const NETWORKS = [parseIpPrefix('10.99.0.0/24'), parseIpPrefix('fd00::/64')];

function host(vpnAddrs: VpnIp[], certVersion: 1 | 2, remote: UdpAddr | null): HostInfo {
  return { vpnIp: vpnAddrs[0], vpnAddrs, remote, certVersion } as unknown as HostInfo;
}

interface Wire {
  to: string;
  m: MetaMessage;
}

function serverSetup() {
  /** As the hostmap: each tunnel under every one of its addresses. */
  const tunnels = new Map<VpnIp, HostInfo>();
  const wire: Wire[] = [];
  const counters = new Counters();
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => NETWORKS,
    remoteAllowed: () => true,
    hostFor: (vpnIp) => tunnels.get(vpnIp),
    send: (to, m) => {
      if (m.type !== MetaType.HostUpdateNotificationAck)
        wire.push({ to: formatVpnIp(to.vpnIp), m: decodeMeta(encodeMeta(m)) });
    },
    counters,
  });
  const connect = (h: HostInfo): HostInfo => {
    for (const a of h.vpnAddrs) tunnels.set(a, h);
    return h;
  };
  const receive = (from: HostInfo, m: MetaMessage): void =>
    server.handle(from, decodeMeta(encodeMeta(m, from.certVersion)));
  return { server, wire, counters, connect, receive };
}

const DUAL = ['fd00::2', ip('10.99.0.2')] as VpnIp[];

test('a dual-stack host is answered about by either of its addresses, each reply naming the address asked', () => {
  const { wire, connect, receive } = serverSetup();
  const dual = connect(host(DUAL, 2, udpAddr('198.51.100.2', 4242)));
  const asker = connect(host([ip('10.99.0.3'), 'fd00::3'], 2, udpAddr('198.51.100.3', 4242)));
  receive(dual, {
    type: MetaType.HostUpdateNotification,
    vpnIp: 0,
    addrs: [udpAddr('192.0.2.2', 4242), udpAddr('2001:db8::2', 4242)],
    relays: [ip('10.99.0.9'), 'fd00::9'],
  });

  for (const asked of ['fd00::2', ip('10.99.0.2')] as VpnIp[]) {
    wire.length = 0;
    receive(asker, { type: MetaType.HostQuery, vpnIp: asked, addrs: [], relays: [] });
    const reply = wire.find((w) => w.m.type === MetaType.HostQueryReply);
    assert.ok(reply, `a reply to a query by ${formatVpnIp(asked)}`);
    assert.equal(reply.to, '10.99.0.3');
    assert.equal(reply.m.vpnIp, asked);
    assert.deepEqual(reply.m.addrs.map(addrKey), ['198.51.100.2:4242', '192.0.2.2:4242', '[2001:db8::2]:4242']);
    assert.deepEqual(reply.m.relays, [ip('10.99.0.9'), 'fd00::9']);
    // The queried host is told to punch toward the asker, by the asker's first address.
    const punch = wire.find((w) => w.m.type === MetaType.HostPunchNotification);
    assert.equal(punch?.to, 'fd00::2');
    assert.equal(punch?.m.vpnIp, ip('10.99.0.3'));
  }
});

test("an update may name any of the sender's addresses; naming another host's is refused", () => {
  const { server, counters, connect, receive } = serverSetup();
  const dual = connect(host(DUAL, 2, udpAddr('198.51.100.2', 4242)));
  receive(dual, {
    type: MetaType.HostUpdateNotification,
    vpnIp: ip('10.99.0.2'),
    addrs: [udpAddr('192.0.2.2', 4242)],
    relays: [],
  });
  assert.deepEqual(server.reportedOf('fd00::2').map(addrKey), ['192.0.2.2:4242'], 'kept under the primary address');
  receive(dual, {
    type: MetaType.HostUpdateNotification,
    vpnIp: 'fd00::7',
    addrs: [udpAddr('192.0.2.7', 4242)],
    relays: [],
  });
  assert.equal(counters.get('drops', 'lighthouse-update-wrong-vpnip'), 1);
  assert.deepEqual(server.reportedOf('fd00::2').map(addrKey), ['192.0.2.2:4242']);
});

test('reported underlay addresses inside any of our overlay networks, IPv6 ones too, are refused', () => {
  const { server, connect, receive } = serverSetup();
  const dual = connect(host(DUAL, 2, udpAddr('198.51.100.2', 4242)));
  receive(dual, {
    type: MetaType.HostUpdateNotification,
    vpnIp: 0,
    addrs: [udpAddr('10.99.0.50', 4242), udpAddr('fd00::50', 4242), udpAddr('2001:db8::2', 4242)],
    relays: [],
  });
  assert.deepEqual(server.reportedOf('fd00::2').map(addrKey), ['[2001:db8::2]:4242']);
});

test('v1 peers never get IPv6: a v1 reply leaves IPv6 relays out, a punch naming an IPv6-only querier to a v1 host is skipped and counted', () => {
  const { wire, counters, connect, receive } = serverSetup();
  const dual = connect(host(DUAL, 2, udpAddr('198.51.100.2', 4242)));
  const v1 = connect(host([ip('10.99.0.4')], 1, udpAddr('198.51.100.4', 4242)));
  const v6only = connect(host(['fd00::5'], 2, udpAddr('198.51.100.5', 4242)));
  receive(dual, { type: MetaType.HostUpdateNotification, vpnIp: 0, addrs: [], relays: [ip('10.99.0.9'), 'fd00::9'] });

  receive(v1, { type: MetaType.HostQuery, vpnIp: ip('10.99.0.2'), addrs: [], relays: [] });
  const reply = wire.find((w) => w.m.type === MetaType.HostQueryReply);
  assert.equal(reply?.m.version, undefined, 'answered in v1');
  assert.deepEqual(reply?.m.relays, [ip('10.99.0.9')]);

  wire.length = 0;
  receive(v6only, { type: MetaType.HostQuery, vpnIp: ip('10.99.0.4'), addrs: [], relays: [] });
  assert.deepEqual(
    wire.map((w) => [w.to, MetaType[w.m.type]]),
    [['fd00::5', 'HostQueryReply']],
    'no punch notification to the v1 host',
  );
  assert.equal(counters.get('lighthouse', 'v1-ipv6-skipped'), 1);
  for (const w of wire) assert.ok(typeof w.m.vpnIp === 'number' || w.m.version === 2);
});

function clientSetup(certVersion: 1 | 2, me: VpnIp[]) {
  const LH = ip('10.99.0.1');
  const lh = host([LH], certVersion, udpAddr('198.51.100.1', 4242));
  const wire: Wire[] = [];
  const counters = new Counters();
  const client = new LighthouseClient(
    lighthouseClientEnv({
      lighthouses: () => [LH],
      vpnAddrs: () => me,
      vpnNetworks: () => NETWORKS,
      hostFor: (vpnIp) => (vpnIp === LH ? lh : undefined),
      send: (to, m) => wire.push({ to: formatVpnIp(to.vpnIp), m: decodeMeta(encodeMeta(m)) }),
      ownAddresses: () => [udpAddr('192.0.2.2', 4242)],
      relays: () => [ip('10.99.0.9'), 'fd00::9'],
      counters,
    }),
  );
  return { client, wire, counters, lh };
}

test('a client asks a v2 lighthouse about an IPv6 host (VpnAddr) and never a v1 one, which it counts', () => {
  const v2 = clientSetup(2, [ip('10.99.0.2'), 'fd00::2']);
  v2.client.query('fd00::7');
  assert.deepEqual(
    v2.wire.map((w) => [MetaType[w.m.type], w.m.vpnIp, w.m.version]),
    [['HostQuery', 'fd00::7', 2]],
  );

  const v1 = clientSetup(1, [ip('10.99.0.2'), 'fd00::2']);
  v1.client.query('fd00::7');
  assert.deepEqual(v1.wire, []);
  assert.equal(v1.counters.get('lighthouse', 'v1-ipv6-skipped'), 1);
  assert.equal(v1.counters.get('lighthouse', 'query-sent'), 0);
});

test("a client's v1 update names its first (IPv4) address and only its IPv4 relays; an IPv6-first host sends none in v1", () => {
  const v1 = clientSetup(1, [ip('10.99.0.2'), 'fd00::2']);
  v1.client.sendUpdate();
  assert.deepEqual(
    v1.wire.map((w) => [MetaType[w.m.type], w.m.vpnIp, w.m.relays]),
    [['HostUpdateNotification', ip('10.99.0.2'), [ip('10.99.0.9')]]],
  );

  const v2 = clientSetup(2, ['fd00::2', ip('10.99.0.2')]);
  v2.client.sendUpdate();
  assert.deepEqual(
    v2.wire.map((w) => [w.m.vpnIp, w.m.relays, w.m.version]),
    [[0, [ip('10.99.0.9'), 'fd00::9'], 2]],
  );

  const v6first = clientSetup(1, ['fd00::2', ip('10.99.0.2')]);
  v6first.client.sendUpdate();
  assert.deepEqual(v6first.wire, []);
  assert.equal(v6first.counters.get('lighthouse', 'v1-ipv6-skipped'), 1);
});

test('a client keeps an answer about an IPv6 host under that address and treats a reply about any of its own addresses as about itself', () => {
  const { client, lh } = clientSetup(2, [ip('10.99.0.2'), 'fd00::2']);
  client.handle(
    lh,
    decodeMeta(
      encodeMeta({
        type: MetaType.HostQueryReply,
        vpnIp: 'fd00::7',
        addrs: [udpAddr('192.0.2.7', 4242), udpAddr('fd00::70', 4242)],
        relays: ['fd00::9'],
        version: 2,
      }),
    ),
  );
  assert.deepEqual(
    client.addressesOf('fd00::7').map(addrKey),
    ['192.0.2.7:4242'],
    'an underlay address inside our IPv6 network is no way to reach anybody',
  );
  assert.deepEqual(client.relaysFor('fd00::7'), ['fd00::9']);
  client.handle(
    lh,
    decodeMeta(
      encodeMeta({
        type: MetaType.HostQueryReply,
        vpnIp: 'fd00::2',
        addrs: [udpAddr('203.0.113.2', 4000)],
        relays: [],
        version: 2,
      }),
    ),
  );
  assert.deepEqual(client.selfAddresses().map(addrKey), ['203.0.113.2:4000']);
  assert.deepEqual(client.addressesOf('fd00::2'), []);
});

test('the push (mesh) about a dual-stack host that moved names it by the address the asker asked by', () => {
  const { wire, connect, receive } = serverSetup();
  const asker = connect(host([ip('10.99.0.3'), 'fd00::3'], 2, udpAddr('198.51.100.3', 4242)));
  // A mesh asker: it asks about itself (by its IPv6 address) first.
  receive(asker, { type: MetaType.HostQuery, vpnIp: 'fd00::3', addrs: [], relays: [] });
  const before = connect(host(DUAL, 2, udpAddr('198.51.100.2', 4242)));
  receive(before, { type: MetaType.HostUpdateNotification, vpnIp: 0, addrs: [], relays: [] });
  receive(asker, { type: MetaType.HostQuery, vpnIp: ip('10.99.0.2'), addrs: [], relays: [] });
  wire.length = 0;
  // The host comes back from another address: a new tunnel, found under both addresses.
  const after = connect(host(DUAL, 2, udpAddr('198.51.100.22', 4000)));
  receive(after, { type: MetaType.HostUpdateNotification, vpnIp: 0, addrs: [], relays: [] });
  const push = wire.find((w) => w.m.type === MetaType.HostMovedNotification);
  assert.equal(push?.to, '10.99.0.3');
  assert.equal(push?.m.vpnIp, ip('10.99.0.2'));
  assert.deepEqual(push?.m.addrs.map(addrKey), ['198.51.100.22:4000']);
});

test('the punch notification to an IPv6-only host names the querier by its IPv6 address, one the host can reach', () => {
  const { wire, connect, receive } = serverSetup();
  const v6only = connect(host(['fd00::6'], 2, udpAddr('198.51.100.6', 4242)));
  const dual = connect(host([ip('10.99.0.2'), 'fd00::2'], 2, udpAddr('198.51.100.2', 4242)));
  receive(dual, { type: MetaType.HostQuery, vpnIp: 'fd00::6', addrs: [], relays: [] });
  const punch = wire.find((w) => w.m.type === MetaType.HostPunchNotification);
  assert.deepEqual(
    [punch?.to, punch?.m.vpnIp, punch?.m.addrs.map(addrKey)],
    ['fd00::6', 'fd00::2', ['198.51.100.2:4242']],
  );
  assert.equal(v6only.vpnIp, 'fd00::6');
});
