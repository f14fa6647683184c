import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { AllowList } from '../../pkg/lighthouse/allow-list.js';
import { ANSWER_FRESH_MS, LighthouseClient, RESPOND_DELAY_MS } from '../../pkg/lighthouse/client.js';
import { orderAddresses } from '../../pkg/lighthouse/address-order.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { MAX_REPORTED } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// The node side of discovery (docs/wire-format.md, "Lighthouse messages"): reports and queries to every lighthouse,
// answers kept per lighthouse, punch notifications turned into punches, and nothing accepted from a host that is not a
// lighthouse. Driven through a fake env whose timers run only when the test says so.

const ME = '10.99.0.2';
const LH1 = '10.99.0.1';
const LH2 = '10.99.0.11';
const ip = parseIpv4;
const a = (address: string, port: number): UdpAddr => udpAddr(address, port);

function host(vpnIp: string, remote: UdpAddr | null = a('198.51.100.10', 4242)): HostInfo {
  return { vpnIp: ip(vpnIp), remote } as unknown as HostInfo;
}

function setup(
  options: {
    lighthouses?: string[];
    allow?: Record<string, boolean>;
    respond?: boolean;
    punchDelayMs?: number;
    respondDelayMs?: number;
  } = {},
) {
  const tunnels = new Map<VpnIp, HostInfo>();
  const log: string[] = [];
  const timers: Array<{ ms: number; fn: () => void }> = [];
  const counters = new Counters();
  const allow = new AllowList(options.allow);
  const lighthouses = (options.lighthouses ?? [LH1]).map(ip);
  const clock = new ManualClock(1_000_000);
  const client = new LighthouseClient({
    clock,
    tunnelEvents: new HostMap(),
    lighthouses: () => lighthouses,
    vpnAddrs: () => [ip(ME)],
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    hostFor: (vpnIp) => tunnels.get(vpnIp),
    startHandshake: (vpnIp) => log.push(`handshake ${formatVpnIp(vpnIp)}`),
    learned: (vpnIp) => log.push(`learned ${formatVpnIp(vpnIp)}`),
    send: (to: HostInfo, m: MetaMessage) =>
      log.push(
        `send ${formatVpnIp(to.vpnIp)} ${MetaType[m.type]} ${formatVpnIp(m.vpnIp)} [${m.addrs.map(addrKey).join(' ')}] [${m.relays.map(formatVpnIp).join(' ')}]`,
      ),
    ownAddresses: () => [a('192.168.1.2', 4242), a('2001:db8::2', 4242)],
    relays: () => [ip(LH1)],
    remoteAllowed: (_vpnIp, addr) => allow.allows(addr.address),
    punch: (addr) => log.push(`punch ${addrKey(addr)}`),
    openMapping: (addr) => log.push(`open ${addrKey(addr)}`),
    punchDelayMs: () => options.punchDelayMs ?? 1000,
    respond: () => options.respond ?? false,
    ...(options.respondDelayMs === undefined ? {} : { respondDelayMs: () => options.respondDelayMs! }),
    sendTestRequestTo: (vpnIp) => log.push(`test-request ${formatVpnIp(vpnIp)}`),
    schedule: (ms, fn) => timers.push({ ms, fn }),
    counters,
  });
  const up = (vpnIp: string): HostInfo => {
    const h = host(vpnIp);
    tunnels.set(h.vpnIp, h);
    return h;
  };
  const runTimers = (): number[] => {
    const delays = timers.map((t) => t.ms);
    for (const t of timers.splice(0)) t.fn();
    return delays;
  };
  const reply = (from: string, target: string, addrs: UdpAddr[], relays: string[] = []): void =>
    client.handle(host(from), { type: MetaType.HostQueryReply, vpnIp: ip(target), addrs, relays: relays.map(ip) });
  return { client, clock, log, counters, up, runTimers, reply };
}

test('a query goes to every lighthouse that has a tunnel', () => {
  const { client, log, up } = setup({ lighthouses: [LH1, LH2] });
  up(LH1);
  up(LH2);
  client.query(ip('10.99.0.3'));
  assert.deepEqual(log, [`send ${LH1} HostQuery 10.99.0.3 [] []`, `send ${LH2} HostQuery 10.99.0.3 [] []`]);
});

test('a query waits for a lighthouse tunnel: the handshake starts and the query follows when it is up', () => {
  const { client, log, up } = setup();
  client.query(ip('10.99.0.3'));
  client.query(ip('10.99.0.4'));
  assert.deepEqual(log.splice(0), [`handshake ${LH1}`, `handshake ${LH1}`]);
  client.lighthouseUp(up(LH1));
  assert.deepEqual(log.splice(0), [
    `send ${LH1} HostUpdateNotification ${ME} [192.168.1.2:4242 [2001:db8::2]:4242] [${LH1}]`,
    // Asking about ourselves: the answer says how our NAT maps us.
    `send ${LH1} HostQuery ${ME} [] []`,
    `send ${LH1} HostQuery 10.99.0.3 [] []`,
    `send ${LH1} HostQuery 10.99.0.4 [] []`,
  ]);
  // The queue is emptied: a second tunnel-up sends no queued query again.
  client.lighthouseUp(host(LH1));
  assert.equal(log.filter((l) => /HostQuery 10\.99\.0\.[34] /.test(l)).length, 0);
});

test('nobody queries for a lighthouse', () => {
  const { client, log, up } = setup();
  up(LH1);
  client.query(ip(LH1));
  assert.deepEqual(log, []);
});

test('an update reports our VPN IP, our addresses and our relays to every lighthouse', () => {
  const { client, log, up, counters } = setup({ lighthouses: [LH1, LH2] });
  up(LH1);
  client.sendUpdate();
  assert.deepEqual(log, [
    `send ${LH1} HostUpdateNotification ${ME} [192.168.1.2:4242 [2001:db8::2]:4242] [${LH1}]`,
    `handshake ${LH2}`,
  ]);
  assert.equal(counters.get('lighthouse', 'update-sent'), 1);
});

test("a lighthouse's answer is stored and the node is told it learned where the host is", () => {
  const { client, log, reply } = setup();
  reply(LH1, '10.99.0.3', [a('203.0.113.2', 4242), a('192.168.1.3', 4242)], ['10.99.0.1']);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')).map(addrKey), ['203.0.113.2:4242', '192.168.1.3:4242']);
  assert.deepEqual(client.relaysFor(ip('10.99.0.3')).map(formatVpnIp), ['10.99.0.1']);
  assert.deepEqual(log, ['learned 10.99.0.3']);
});

test("a lighthouse's new answer replaces its previous one; other lighthouses' answers stay", () => {
  const { client, reply } = setup({ lighthouses: [LH1, LH2] });
  reply(LH1, '10.99.0.3', [a('203.0.113.2', 4242)]);
  reply(LH2, '10.99.0.3', [a('203.0.113.50', 4242)]);
  reply(LH1, '10.99.0.3', [a('203.0.113.9', 5000)]);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')).map(addrKey), ['203.0.113.9:5000', '203.0.113.50:4242']);
  reply(LH2, '10.99.0.3', []);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')).map(addrKey), ['203.0.113.9:5000']);
});

test(`at most ${MAX_REPORTED} addresses are kept from one answer`, () => {
  const { client, reply } = setup();
  const many = Array.from({ length: 14 }, (_, i) => a(`198.51.100.${i + 1}`, 4242));
  reply(LH1, '10.99.0.3', many);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')), many.slice(0, MAX_REPORTED));
});

test('answered addresses inside the VPN network, with port 0 or refused by remote_allow_list are dropped', () => {
  const { client, reply } = setup({ allow: { '192.168.0.0/16': false } });
  reply(LH1, '10.99.0.3', [
    a('10.99.0.3', 4242),
    a('198.51.100.3', 0),
    a('192.168.1.3', 4242),
    a('198.51.100.3', 4242),
    a('2001:db8::3', 4242),
  ]);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')).map(addrKey), ['198.51.100.3:4242', '[2001:db8::3]:4242']);
});

// A lighthouse (or a host reporting itself to one) can write an IPv4 address as ::ffff:a.b.c.d in the IPv6 field.
test('an answer carrying ::ffff:<denied IPv4> in its IPv6 field is refused by remote_allow_list and never tried', () => {
  const { client, reply } = setup({ allow: { '192.168.0.0/16': false } });
  // On the wire as the lighthouse sent it: encodeMeta writes an address with a colon as an Ip6AndPort.
  const wire = encodeMeta({
    type: MetaType.HostQueryReply,
    vpnIp: ip('10.99.0.3'),
    addrs: [
      { address: '::ffff:192.168.1.3', port: 4242 },
      { address: '::ffff:c0a8:104', port: 4242 },
      a('203.0.113.2', 4242),
    ],
    relays: [],
  });
  reply(LH1, '10.99.0.3', decodeMeta(wire).addrs);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')).map(addrKey), ['203.0.113.2:4242']);
});

test('an allowed ::ffff:<IPv4> answer is kept as that IPv4 address and ordered as IPv4, not first as IPv6', () => {
  const { client, reply } = setup();
  const wire = encodeMeta({
    type: MetaType.HostQueryReply,
    vpnIp: ip('10.99.0.3'),
    addrs: [a('203.0.113.2', 4242), { address: '::ffff:192.168.1.3', port: 4242 }, a('2001:db8::3', 4242)],
    relays: [],
  });
  reply(LH1, '10.99.0.3', decodeMeta(wire).addrs);
  const order = orderAddresses(client.addressesOf(ip('10.99.0.3'))).map(addrKey);
  assert.deepEqual(order, ['[2001:db8::3]:4242', '203.0.113.2:4242', '192.168.1.3:4242']);
});

test('answers from a host that is not a lighthouse are dropped and counted', () => {
  const { client, log, counters, reply } = setup();
  reply('10.99.0.66', '10.99.0.3', [a('203.0.113.66', 4242)]);
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')), []);
  assert.deepEqual(log, []);
  assert.equal(counters.get('drops', 'lighthouse-reply-not-from-lighthouse'), 1);
});

test('answers about a lighthouse are ignored', () => {
  const { client, log, reply } = setup({ lighthouses: [LH1, LH2] });
  reply(LH1, LH2, [a('203.0.113.66', 4242)]);
  assert.deepEqual(client.addressesOf(ip(LH2)), []);
  assert.deepEqual(log, []);
});

test('an answer about ourselves is kept as our own addresses, never as a peer to handshake with', () => {
  const { client, log, reply } = setup();
  assert.deepEqual(client.selfAddresses(), []);
  reply(LH1, ME, [a('203.0.113.2', 4242), a('192.168.1.2', 4242)]);
  assert.deepEqual(client.selfAddresses().map(addrKey), ['203.0.113.2:4242', '192.168.1.2:4242']);
  assert.deepEqual(client.addressesOf(ip(ME)), []);
  assert.deepEqual(log, []);
});

test('forgetting a host drops the answers about it', () => {
  const { client, reply } = setup();
  reply(LH1, '10.99.0.3', [a('203.0.113.2', 4242)]);
  client.forget(ip('10.99.0.3'));
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')), []);
});

test(`an answer says what the peer's relays are for ${ANSWER_FRESH_MS} ms; an older one keeps its addresses only`, () => {
  const { client, clock, up, reply } = setup({ lighthouses: [LH1, LH2] });
  up(LH1);
  up(LH2);
  const peer = ip('10.99.0.3');
  assert.equal(client.hasAnswer(peer), false, 'never answered');
  reply(LH1, '10.99.0.3', [a('192.0.2.3', 4242)]);
  clock.advance(ANSWER_FRESH_MS - 1);
  assert.equal(client.hasAnswer(peer), true, 'an answer without relays is an answer');
  clock.advance(1);
  assert.equal(client.hasAnswer(peer), false, 'too old to tell which relays the peer has now');
  assert.deepEqual(client.addressesOf(peer).map(addrKey), ['192.0.2.3:4242'], 'still a handshake candidate');
  // Any lighthouse's fresh answer will do.
  reply(LH2, '10.99.0.3', [a('192.0.2.3', 4242)]);
  assert.equal(client.hasAnswer(peer), true);
});

test('a punch notification opens our NAT toward every usable address at once, then punches after punchy.delay', () => {
  const { client, log, counters, runTimers } = setup({ punchDelayMs: 1500 });
  client.handle(host(LH1), {
    type: MetaType.HostPunchNotification,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.14', 4242), a('198.51.100.14', 4242), a('10.99.0.4', 4242), a('2001:db8::4', 4242)],
    relays: [],
  });
  // The address inside the VPN network is never punched.
  assert.deepEqual(log.splice(0), ['open 198.51.100.14:4242', 'open 198.51.100.14:4242', 'open [2001:db8::4]:4242']);
  assert.deepEqual(runTimers(), [1500]);
  assert.deepEqual(log, ['punch 198.51.100.14:4242', 'punch 198.51.100.14:4242', 'punch [2001:db8::4]:4242']);
  assert.equal(counters.get('lighthouse', 'punch-notification'), 1);
});

test('with punchy.respond the node also handshakes back to the querier after a fixed 5 s', () => {
  const { client, log, runTimers } = setup({ respond: true, punchDelayMs: 1000 });
  client.handle(host(LH1), {
    type: MetaType.HostPunchNotification,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.14', 4242)],
    relays: [],
  });
  assert.deepEqual(
    runTimers().sort((x, y) => x - y),
    [1000, RESPOND_DELAY_MS],
  );
  assert.equal(RESPOND_DELAY_MS, 5000);
  assert.deepEqual(log, ['open 198.51.100.14:4242', 'punch 198.51.100.14:4242', 'test-request 10.99.0.4']);
});

test('punchy.respond_delay (Nebula 1.7+) sets the wait before the handshake back', () => {
  const { client, log, runTimers } = setup({ respond: true, punchDelayMs: 1000, respondDelayMs: 250 });
  client.handle(host(LH1), {
    type: MetaType.HostPunchNotification,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.14', 4242)],
    relays: [],
  });
  assert.deepEqual(
    runTimers().sort((x, y) => x - y),
    [250, 1000],
  );
  assert.ok(log.includes('test-request 10.99.0.4'));
});

test('without punchy.respond no handshake back is scheduled', () => {
  const { client, log, runTimers } = setup({ respond: false });
  client.handle(host(LH1), {
    type: MetaType.HostPunchNotification,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.14', 4242)],
    relays: [],
  });
  assert.deepEqual(runTimers(), [1000]);
  assert.ok(!log.some((l) => l.startsWith('test-request')));
});

test('a punch notification from a host that is not a lighthouse punches nothing', () => {
  const { client, log, counters, runTimers } = setup({ respond: true });
  client.handle(host('10.99.0.66'), {
    type: MetaType.HostPunchNotification,
    vpnIp: ip('10.99.0.4'),
    addrs: [a('198.51.100.14', 4242)],
    relays: [],
  });
  assert.deepEqual(runTimers(), []);
  assert.deepEqual(log, []);
  assert.equal(counters.get('drops', 'lighthouse-reply-not-from-lighthouse'), 1);
});

test('other message types from a lighthouse are ignored and counted', () => {
  const { client, log, counters } = setup();
  for (const type of [MetaType.HostQuery, MetaType.HostUpdateNotification, MetaType.HostWhoamiReply]) {
    client.handle(host(LH1), { type, vpnIp: ip('10.99.0.3'), addrs: [a('198.51.100.1', 1)], relays: [] });
  }
  assert.deepEqual(log, []);
  assert.equal(counters.get('lighthouse', 'ignored-HostQuery'), 1);
  assert.equal(counters.get('lighthouse', 'ignored-HostWhoamiReply'), 1);
});

test('a push (HostMovedNotification) from a lighthouse is taken as its answer for that host; one about ourselves is not', () => {
  const { client, counters } = setup();
  client.handle(host(LH1), {
    type: MetaType.HostMovedNotification,
    vpnIp: ip('10.99.0.3'),
    addrs: [a('198.51.100.1', 4000)],
    relays: [],
  });
  assert.deepEqual(client.addressesOf(ip('10.99.0.3')), [a('198.51.100.1', 4000)]);
  assert.equal(counters.get('lighthouse', 'push'), 1);
  client.handle(host(LH1), {
    type: MetaType.HostMovedNotification,
    vpnIp: ip(ME),
    addrs: [a('198.51.100.9', 1)],
    relays: [],
  });
  assert.equal(counters.get('drops', 'lighthouse-push-ignored'), 1);
  assert.deepEqual(client.selfAddresses(), []);
});

// Reported to the lead: client.ts reply() slices IPv4 and IPv6 together to 10; nebula 1.6.1 keeps up to 10 per
// family for each answering lighthouse (RemoteList.unlockedSetV4 / unlockedSetV6).
test('the 10-address cap on an answer applies to IPv4 and IPv6 separately', () => {
  const { client, reply } = setup();
  const v4 = Array.from({ length: 10 }, (_, i) => a(`198.51.100.${i + 1}`, 4242));
  const v6 = [a('2001:db8::1', 4242)];
  reply(LH1, '10.99.0.3', [...v4, ...v6]);
  assert.equal(client.addressesOf(ip('10.99.0.3')).length, 11);
});

// Reported to the lead: lighthouseUp() asks the lighthouses about ourselves, and a lighthouse (mesh's server.ts
// and nebula's alike) follows every answer with a HostPunchNotification to the queried host naming the querier,
// here both ourselves. punchBack() does not skip our own VPN IP, so the node punches its own public address and,
// with punchy.respond, 5 s later sends a test request to itself, which starts a handshake to itself ("Handshake
// timed out vpnIp=<own IP> attempts=11" in the demo's node logs).
test('a punch notification naming ourselves punches nothing and never starts a handshake', () => {
  const { client, log, runTimers } = setup({ respond: true });
  client.handle(host(LH1), {
    type: MetaType.HostPunchNotification,
    vpnIp: ip(ME),
    addrs: [a('203.0.113.2', 4242)],
    relays: [],
  });
  runTimers();
  assert.deepEqual(log, []);
});
