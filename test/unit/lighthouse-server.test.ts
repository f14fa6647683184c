import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { AllowList } from '../../pkg/lighthouse/allow-list.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer, MAX_RELAYS, MAX_REMEMBERED_UPDATE, MAX_REPORTED } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// The lighthouse's bookkeeping (docs/wire-format.md, "What a lighthouse keeps"; nebula 1.6.1 lighthouse.go): learned
// address = the tunnel's remote, reported addresses from HostUpdateNotification; HostQuery answered with both and a
// HostPunchNotification to the queried host. Driven through a fake env: hosts are plain records, sends are recorded.

const ip = parseIpv4;
const a = (address: string, port: number): UdpAddr => udpAddr(address, port);

interface Sent {
  to: string;
  type: MetaType;
  vpnIp: string;
  addrs: string[];
  relays: string[];
}

function host(vpnIp: string, remote: UdpAddr | null): HostInfo {
  return { vpnIp: ip(vpnIp), remote } as unknown as HostInfo;
}

function setup(options: { allow?: Record<string, boolean> } = {}) {
  const hosts = new Map<VpnIp, HostInfo>();
  const sent: Sent[] = [];
  const acks: Sent[] = [];
  const counters = new Counters();
  let allow = new AllowList(options.allow);
  // remote_allow_list reloaded.
  const setAllow = (rules: Record<string, boolean>): void => {
    allow = new AllowList(rules);
  };
  const allowCalls: string[] = [];
  // How many messages had been sent at each flushSends (the answer handed to the socket before the rest).
  const flushedAt: number[] = [];
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    remoteAllowed: (vpnIp, addr) => {
      allowCalls.push(`${formatVpnIp(vpnIp)} ${addrKey(addr)}`);
      return allow.allows(addr.address);
    },
    hostFor: (vpnIp) => hosts.get(vpnIp),
    // Acks (one per accepted update) are kept apart, so the tests of answers see only answers.
    send: (to: HostInfo, m: MetaMessage) =>
      (m.type === MetaType.HostUpdateNotificationAck ? acks : sent).push({
        to: formatVpnIp(to.vpnIp),
        type: m.type,
        vpnIp: formatVpnIp(m.vpnIp),
        addrs: m.addrs.map(addrKey),
        relays: m.relays.map(formatVpnIp),
      }),
    flushSends: () => flushedAt.push(sent.length),
    counters,
  });
  const connect = (vpnIp: string, remote: UdpAddr | null): HostInfo => {
    const h = host(vpnIp, remote);
    hosts.set(h.vpnIp, h);
    return h;
  };
  const update = (from: HostInfo, addrs: UdpAddr[], relays: string[] = [], vpnIp = from.vpnIp): void =>
    server.handle(from, { type: MetaType.HostUpdateNotification, vpnIp, addrs, relays: relays.map(ip) });
  const query = (from: HostInfo, target: string): void =>
    server.handle(from, { type: MetaType.HostQuery, vpnIp: ip(target), addrs: [], relays: [] });
  return { server, hosts, sent, acks, counters, allowCalls, flushedAt, setAllow, connect, update, query };
}

test('a host update is stored as that host reported it', () => {
  const { server, connect, update } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  update(n, [a('192.168.1.2', 4242), a('2001:db8::3', 4242)]);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')).map(addrKey), ['192.168.1.2:4242', '[2001:db8::3]:4242']);
});

test('a new update replaces the whole reported list', () => {
  const { server, connect, update } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  update(n, [a('192.168.1.2', 4242), a('198.51.100.3', 4242)]);
  update(n, [a('192.168.7.7', 4000)]);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')).map(addrKey), ['192.168.7.7:4000']);
  update(n, []);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')), []);
});

test('a repeated update keeps the entry it made; any difference, a reloaded remote_allow_list included, makes a new one', () => {
  const { server, sent, setAllow, connect, update, query } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  const reported = (): readonly UdpAddr[] => server.reportedOf(ip('10.99.0.3'));
  const relaysTold = (): string[] => {
    query(querier, '10.99.0.3');
    return sent[sent.length - 2].relays; // the reply; the punch notification follows it
  };
  // Fresh objects of the same values each time, as decodeMeta makes them; one address inside our network (refused).
  const addrs = (port = 4242): UdpAddr[] => [
    a('10.99.0.9', 1),
    a('2001:db8::3', port),
    a('192.168.1.2', port),
    a('198.51.100.3', port),
  ];
  update(n, addrs(), ['10.99.1.1', '10.99.1.2']);
  const first = reported();
  assert.deepEqual(first.map(addrKey), ['192.168.1.2:4242', '198.51.100.3:4242', '[2001:db8::3]:4242']);
  update(n, addrs(), ['10.99.1.1', '10.99.1.2']);
  assert.equal(reported(), first, 'the same update keeps the entry');
  assert.deepEqual(relaysTold(), ['10.99.1.1', '10.99.1.2']);

  update(n, addrs(4000), ['10.99.1.1', '10.99.1.2']);
  assert.deepEqual(reported().map(addrKey), ['192.168.1.2:4000', '198.51.100.3:4000', '[2001:db8::3]:4000']);
  update(n, addrs(4000).slice(0, 3), ['10.99.1.1', '10.99.1.2']);
  assert.deepEqual(reported().map(addrKey), ['192.168.1.2:4000', '[2001:db8::3]:4000'], 'a shorter list');
  update(n, addrs(4000).slice(0, 3), ['10.99.1.1']);
  assert.deepEqual(relaysTold(), ['10.99.1.1'], 'fewer relays');
  update(n, addrs(4000).slice(0, 3), ['10.99.1.1', '10.99.1.3']);
  assert.deepEqual(relaysTold(), ['10.99.1.1', '10.99.1.3'], 'another relay');

  const kept = reported();
  setAllow({ '192.168.0.0/16': false });
  update(n, addrs(4000).slice(0, 3), ['10.99.1.1', '10.99.1.3']);
  assert.notEqual(reported(), kept);
  assert.deepEqual(reported().map(addrKey), ['[2001:db8::3]:4000'], 'the same update under the reloaded list');

  // Past the cap of each family: the same capped entry, kept.
  const many = (): UdpAddr[] => Array.from({ length: MAX_REPORTED + 3 }, (_, i) => a(`198.51.100.${i + 1}`, 4242));
  update(n, many());
  const capped = reported();
  assert.equal(capped.length, MAX_REPORTED);
  update(n, many());
  assert.equal(reported(), capped);
});

// MeshNode.onLighthouseMessage asks handleRepeatedUpdate first and decodes only when it says no.
test('an update whose bytes repeat the last accepted one is handled as it without decoding: acked, judged anew, kept as it was', () => {
  const { server, acks, counters, setAllow, connect } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  const reported = (): string[] => server.reportedOf(ip('10.99.0.3')).map(addrKey);
  const msg: MetaMessage = {
    type: MetaType.HostUpdateNotification,
    vpnIp: ip('10.99.0.3'),
    addrs: [a('192.168.1.2', 4242), a('2001:db8::3', 4242)],
    relays: [],
  };
  const bytes = Buffer.from(encodeMeta(msg));
  assert.equal(server.handleRepeatedUpdate(n, bytes), false, 'nothing accepted yet: decode it');
  server.handle(n, decodeMeta(bytes), bytes);
  assert.equal(acks.length, 1);
  const entry = server.reportedOf(ip('10.99.0.3'));

  // A fresh buffer of the same bytes, as every datagram is: a repeat; acked as the decoded update would be.
  assert.equal(server.handleRepeatedUpdate(n, Buffer.from(bytes)), true);
  assert.equal(acks.length, 2);
  assert.deepEqual(acks[1], acks[0]);
  assert.equal(server.reportedOf(ip('10.99.0.3')), entry, 'the same entry kept');

  // The kept bytes are a copy: the caller's buffer may be reused (a pool's) after the call.
  bytes.fill(0);
  assert.equal(server.handleRepeatedUpdate(n, bytes), false, 'zeroed bytes are no repeat');
  const again = Buffer.from(encodeMeta(msg));
  assert.equal(server.handleRepeatedUpdate(n, again), true, 'the bytes as they were when accepted');

  // One byte off (the port), or a different length: decoded.
  const moved = Buffer.from(encodeMeta({ ...msg, addrs: [a('192.168.1.2', 4243), a('2001:db8::3', 4242)] }));
  assert.equal(server.handleRepeatedUpdate(n, moved), false);
  assert.equal(server.handleRepeatedUpdate(n, again.subarray(0, again.length - 1)), false);

  // remote_allow_list reloaded: the repeat is judged under the new list, as decoding it would be.
  setAllow({ '192.168.0.0/16': false });
  assert.equal(server.handleRepeatedUpdate(n, again), true);
  assert.deepEqual(reported(), ['[2001:db8::3]:4242']);
  assert.equal(acks.length, 4);

  // Host 10.99.0.3's bytes on the tunnel of a host that has an accepted update of its own: no repeat (they are not
  // its own last bytes), so the caller decodes them, and the decoded update is dropped at the sender check, unacked
  // and not kept as the other host's last update.
  const other = connect('10.99.0.4', a('203.0.113.4', 4242));
  const own = Buffer.from(encodeMeta({ ...msg, vpnIp: ip('10.99.0.4'), addrs: [a('192.168.1.4', 4242)] }));
  server.handle(other, decodeMeta(own), own);
  assert.equal(server.handleRepeatedUpdate(other, Buffer.from(own)), true, 'its own bytes are kept for it');
  const otherEntry = server.reportedOf(ip('10.99.0.4'));
  const acked = acks.length;
  assert.equal(server.handleRepeatedUpdate(other, again), false, "another host's bytes repeated on this tunnel");
  server.handle(other, decodeMeta(again), again);
  assert.equal(acks.length, acked, 'no ack for a wrong sender');
  assert.equal(counters.snapshot().drops?.['lighthouse-update-wrong-vpnip'], 1);
  assert.equal(server.handleRepeatedUpdate(other, again), false, 'the dropped bytes were not kept');
  assert.equal(server.reportedOf(ip('10.99.0.4')), otherEntry, "the other host's entry as it was");
  assert.deepEqual(reported(), ['[2001:db8::3]:4242'], "the named host's entry untouched");
  // A closed tunnel: no repeat.
  server.forget(ip('10.99.0.3'));
  assert.equal(server.handleRepeatedUpdate(n, again), false);
});

test(`an update larger than ${MAX_REMEMBERED_UPDATE} bytes is not kept for the repeat check (decoded every time)`, () => {
  const { server, acks, connect } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  const msg = (count: number): MetaMessage => ({
    type: MetaType.HostUpdateNotification,
    vpnIp: ip('10.99.0.3'),
    addrs: Array.from({ length: count }, (_, i) => a(`2001:db8::${i + 1}`, 4242)),
    relays: Array.from({ length: MAX_RELAYS }, (_, i) => ip(`10.99.1.${i + 1}`)),
  });
  // More addresses than are kept (the cap applies after decoding): a datagram may carry them.
  const big = Buffer.from(encodeMeta(msg(3 * MAX_REPORTED)));
  assert.ok(big.length > MAX_REMEMBERED_UPDATE, `${big.length} bytes`);
  server.handle(n, decodeMeta(big), big);
  assert.equal(acks.length, 1, 'accepted');
  assert.equal(server.handleRepeatedUpdate(n, big), false);
  // A small one after it is kept again.
  const small = Buffer.from(encodeMeta(msg(1)));
  server.handle(n, decodeMeta(small), small);
  assert.equal(server.handleRepeatedUpdate(n, small), true);
  assert.equal(server.handleRepeatedUpdate(n, big), false);
});

test(`at most ${MAX_REPORTED} reported addresses are kept, the first ones`, () => {
  const { server, connect, update } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  const many = Array.from({ length: 15 }, (_, i) => a(`198.51.100.${i + 1}`, 4242));
  update(n, many);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')), many.slice(0, MAX_REPORTED));
});

test(`at most ${MAX_RELAYS} relays are kept per host and repeated in answers, the first ones`, () => {
  const { sent, connect, update, query } = setup();
  const target = connect('10.99.0.3', a('203.0.113.2', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  const relays = Array.from({ length: 200 }, (_, i) => `10.99.1.${i + 1}`);
  update(target, [], relays);
  query(querier, '10.99.0.3');
  assert.deepEqual(sent[0].relays, relays.slice(0, MAX_RELAYS));
});

test('an update whose VpnIp is not the sender is ignored and counted', () => {
  const { server, counters, connect, update } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  update(n, [a('192.168.1.2', 4242)], [], ip('10.99.0.4'));
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')), []);
  assert.deepEqual(server.reportedOf(ip('10.99.0.4')), []);
  assert.equal(counters.get('drops', 'lighthouse-update-wrong-vpnip'), 1);
});

test('reported IPv4 addresses inside the VPN network are dropped, also written IPv4-mapped; IPv6 ones are not checked against it', () => {
  const { server, connect, update } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  const mapped = { address: '::ffff:a63:1', port: 4242 }; // 10.99.0.1, as a peer may write it in an Ip6AndPort
  update(n, [
    a('10.99.0.3', 4242),
    a('10.99.0.200', 1),
    a('10.98.0.1', 4242),
    ...decodeMeta(
      encodeMeta({ type: MetaType.HostUpdateNotification, vpnIp: ip('10.99.0.3'), addrs: [mapped], relays: [] }),
    ).addrs,
    a('::a63:1', 4242),
  ]);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')).map(addrKey), ['10.98.0.1:4242', '[::a63:1]:4242']);
});

test('reported addresses must pass remote_allow_list, judged for the reporting host', () => {
  const { server, allowCalls, connect, update } = setup({ allow: { '192.168.0.0/16': false } });
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  update(n, [a('192.168.1.2', 4242), a('198.51.100.3', 4242)]);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')).map(addrKey), ['198.51.100.3:4242']);
  assert.deepEqual(allowCalls, ['10.99.0.3 192.168.1.2:4242', '10.99.0.3 198.51.100.3:4242']);
});

test('a query is answered with the learned address then the reported ones, and the target is told to punch', () => {
  const { sent, connect, update, query } = setup();
  const target = connect('10.99.0.3', a('203.0.113.2', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  update(target, [a('192.168.1.2', 4242)], ['10.99.0.1']);
  update(querier, [a('198.51.100.14', 4242)]);
  query(querier, '10.99.0.3');
  assert.deepEqual(sent, [
    {
      to: '10.99.0.4',
      type: MetaType.HostQueryReply,
      vpnIp: '10.99.0.3',
      addrs: ['203.0.113.2:4242', '192.168.1.2:4242'],
      relays: ['10.99.0.1'],
    },
    {
      to: '10.99.0.3',
      type: MetaType.HostPunchNotification,
      vpnIp: '10.99.0.4',
      // Learned and reported are the same here: like nebula, duplicates are kept.
      addrs: ['198.51.100.14:4242', '198.51.100.14:4242'],
      relays: [],
    },
  ]);
});

test("a query's answer is handed to the socket before the punch notification is built; one about the asker itself needs no flush", () => {
  const { sent, flushedAt, connect, update, query } = setup();
  const target = connect('10.99.0.3', a('203.0.113.2', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  update(target, [a('192.168.1.2', 4242)]);
  query(querier, '10.99.0.3');
  assert.deepEqual(
    sent.map((m) => m.type),
    [MetaType.HostQueryReply, MetaType.HostPunchNotification],
  );
  assert.deepEqual(flushedAt, [1], 'flushed once, right after the answer: the asker waits on it, nobody on the punch');
  query(querier, '10.99.0.4');
  assert.equal(sent.length, 3, 'answered about itself');
  assert.deepEqual(flushedAt, [1], 'nothing follows that answer in the query: the turn end sends it');
});

test("a burst of queries in one turn hands one answer to the socket ahead of the turn's end, not one per query", async () => {
  const { sent, flushedAt, connect, update, query } = setup();
  const target = connect('10.99.0.3', a('203.0.113.2', 4242));
  update(target, [a('192.168.1.2', 4242)]);
  // Ten first contacts answered from one receive batch (one turn), as after a lighthouse restart.
  const queriers = Array.from({ length: 10 }, (_, i) => connect(`10.99.0.${10 + i}`, a('198.51.100.14', 4000 + i)));
  for (const querier of queriers) query(querier, '10.99.0.3');
  assert.equal(sent.length, 20, 'every query answered and punched');
  assert.deepEqual(flushedAt, [1], "only the turn's first answer is flushed at once; the rest leave at the turn's end");
  await new Promise((resolve) => setImmediate(resolve));
  query(queriers[0], '10.99.0.3');
  assert.deepEqual(flushedAt, [1, 21], "the next turn's first answer leaves at once again");
});

test('answers list IPv4 before IPv6, each family learned first', () => {
  const { sent, connect, update, query } = setup();
  const target = connect('10.99.0.3', a('2001:db8::3', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  update(target, [a('2001:db8:1::3', 1), a('192.168.1.2', 2), a('198.51.100.3', 3)]);
  query(querier, '10.99.0.3');
  assert.deepEqual(sent[0].addrs, ['192.168.1.2:2', '198.51.100.3:3', '[2001:db8::3]:4242', '[2001:db8:1::3]:1']);
});

test('a host that never reported is answered with its learned address alone', () => {
  const { sent, connect, query } = setup();
  connect('10.99.0.3', a('203.0.113.2', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  query(querier, '10.99.0.3');
  assert.deepEqual(sent[0].addrs, ['203.0.113.2:4242']);
  assert.deepEqual(sent[1].addrs, ['198.51.100.14:4242']);
});

test('a host reachable only through a relay has no learned address to give out', () => {
  const { sent, connect, update, query } = setup();
  const target = connect('10.99.0.3', null);
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  update(target, [a('192.168.1.2', 4242)]);
  query(querier, '10.99.0.3');
  assert.deepEqual(sent[0].addrs, ['192.168.1.2:4242']);
});

test('a query for an unknown host sends nothing at all and is counted', () => {
  const { sent, counters, connect, query } = setup();
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  query(querier, '10.99.0.77');
  assert.deepEqual(sent, []);
  assert.equal(counters.get('lighthouse', 'query-unknown'), 1);
  assert.equal(counters.get('lighthouse', 'query'), 1);
});

test('forgetting a host drops what it reported', () => {
  const { server, sent, connect, update, query } = setup();
  const target = connect('10.99.0.3', a('203.0.113.2', 4242));
  const querier = connect('10.99.0.4', a('198.51.100.14', 4242));
  update(target, [a('192.168.1.2', 4242)], ['10.99.0.1']);
  server.forget(ip('10.99.0.3'));
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')), []);
  query(querier, '10.99.0.3');
  assert.deepEqual(sent[0].addrs, ['203.0.113.2:4242']);
  assert.deepEqual(sent[0].relays, []);
});

test('replies and punch notifications sent to a lighthouse are ignored and counted', () => {
  const { server, sent, counters, connect } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  server.handle(n, {
    type: MetaType.HostQueryReply,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.1', 1)],
    relays: [],
  });
  server.handle(n, {
    type: MetaType.HostPunchNotification,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.1', 1)],
    relays: [],
  });
  server.handle(n, { type: 42 as MetaType, vpnIp: 0, addrs: [], relays: [] });
  assert.deepEqual(sent, []);
  assert.equal(counters.get('lighthouse', 'ignored-HostQueryReply'), 1);
  assert.equal(counters.get('lighthouse', 'ignored-HostPunchNotification'), 1);
  assert.equal(counters.get('lighthouse', 'ignored-42'), 1);
});

// Reported to the lead: server.ts update() filters and then slices the IPv4 and IPv6 addresses together to 10.
// Nebula 1.6.1 (RemoteList.unlockedSetV4 / unlockedSetV6) keeps up to 10 per family, so a dual-stack host that
// reports 10 IPv4 addresses keeps its IPv6 ones too.
test('the 10-address cap applies to IPv4 and IPv6 separately', () => {
  const { server, connect, update } = setup();
  const n = connect('10.99.0.3', a('203.0.113.2', 4242));
  const v4 = Array.from({ length: 10 }, (_, i) => a(`198.51.100.${i + 1}`, 4242));
  const v6 = [a('2001:db8::1', 4242), a('2001:db8::2', 4242)];
  update(n, [...v4, ...v6]);
  assert.deepEqual(server.reportedOf(ip('10.99.0.3')).map(addrKey), [...v4, ...v6].map(addrKey));
});
