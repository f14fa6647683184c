// Issue 14, fault 2: a relayed peer's 15-byte birthday request made us send PROBES (2000) probes to whatever
// address the lighthouse listed first for it, which the peer chooses when the lighthouse never saw it directly.
// Now: probes go only to an address a lighthouse saw, only when the NAT views say we are the probing side, and at
// most one run per peer per PEER_RUN_INTERVAL_MS and GLOBAL_RUNS runs per GLOBAL_WINDOW_MS in all. Time and timers
// are a ManualClock and its timers, so a minute of requests runs in milliseconds.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { Birthday, type BirthdayEnv } from '../../pkg/daemon/birthday.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import { LighthouseClient } from '../../pkg/lighthouse/client.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { BIRTHDAY_PROBE, BIRTHDAY_REQUEST, PROBES } from '../../pkg/punchy/birthday.js';
import {
  birthdaySides,
  GLOBAL_RUNS,
  GLOBAL_WINDOW_MS,
  PEER_RUN_INTERVAL_MS,
  probeTarget,
} from '../../pkg/punchy/birthday-policy.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { lighthouseClientEnv } from './helpers/lighthouse-client-env.js';

const a = (address: string, port: number): UdpAddr => udpAddr(address, port);
const host = (vpnIp: string, remote: UdpAddr | null = null): HostInfo =>
  ({ vpnIp: parseIpv4(vpnIp), remote }) as unknown as HostInfo;

// Our own view: a port-preserving NAT (seen at our public IP with our own port 4242).
const SELF_PRESERVING = [a('198.51.100.1', 4242), a('192.168.0.2', 4242)];
// A peer the lighthouse saw behind a port-rewriting NAT.
const PEER_REWRITING = [a('203.0.113.7', 40001), a('10.0.0.2', 4242)];

/** A Birthday on fake time and a recording sender. */
function harness(views: { self: UdpAddr[]; peers: Map<VpnIp, UdpAddr[]> }, extra: Partial<BirthdayEnv> = {}) {
  const clock = new ManualClock(1_000_000);
  const probes: UdpAddr[] = [];
  const counters = new Counters();
  const birthday = new Birthday({
    log: new Logger('error', 'text', () => {}),
    counters,
    clock,
    schedule: (ms, fn) => {
      clock.after(ms, fn);
    },
    sendTest: (_host, payload, to) => {
      if (payload === BIRTHDAY_PROBE && to) probes.push(to);
    },
    isCurrent: () => true,
    natViews: { self: () => views.self, peer: (ip) => views.peers.get(ip) ?? [] },
    onUdp: () => {},
    stopped: () => false,
    ...extra,
    tunnelEvents: new HostMap(),
  });
  /** Moves time on to `until`, running the timers due by then in time order (ManualClock's). */
  const runUntil = (until: number): void => clock.advance(until - clock.now());
  return { birthday, clock, probes, counters, runUntil };
}

/** `count` requests from `peer`, one every `everyMs`; returns the probes sent. */
function flood(h: ReturnType<typeof harness>, peer: HostInfo, count: number, everyMs: number): UdpAddr[] {
  for (let i = 0; i < count; i++) {
    h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
    h.runUntil(h.clock.now() + everyMs);
  }
  h.runUntil(h.clock.now() + 10_000);
  return h.probes;
}

test('a peer no lighthouse saw gets no probes, whatever addresses it reported', () => {
  // The reflection: the peer reported a victim's address first (advertise_addrs, or a crafted host update) and
  // reaches the lighthouse only through a relay, so no address is marked seen and its NAT view is empty.
  const peer = host('10.99.0.9');
  const h = harness({ self: SELF_PRESERVING, peers: new Map([[peer.vpnIp, []]]) });
  const probes = flood(h, peer, 60, 1000);
  assert.equal(probes.length, 0);
  assert.equal(h.counters.get('drops', 'birthday-peer-not-seen'), 60);
});

test('one peer asking every 100 ms for a minute gets at most one run per interval, all to the address a lighthouse saw', (t) => {
  const peer = host('10.99.0.9');
  const h = harness({ self: SELF_PRESERVING, peers: new Map([[peer.vpnIp, PEER_REWRITING]]) });
  const durationMs = 60_000;
  const requests = durationMs / 100;
  const probes = flood(h, peer, requests, 100);
  const runs = 1 + Math.floor(durationMs / PEER_RUN_INTERVAL_MS);
  assert.ok(probes.length <= runs * PROBES, `${probes.length} probes for ${requests} requests`);
  assert.ok(probes.length > 0, 'the honest case still probes');
  assert.deepEqual([...new Set(probes.map((p) => p.address))], ['203.0.113.7']);
  // Before the fix a new run started as soon as the last one ended (about a second): ~60 runs, 120000 probes.
  t.diagnostic(
    `${requests} requests -> ${probes.length} probes (${(probes.length / requests).toFixed(1)} per request)`,
  );
});

test('all peers together are bounded by the global budget', () => {
  const peers = Array.from({ length: 20 }, (_, i) => host(`10.99.0.${10 + i}`));
  const h = harness({ self: SELF_PRESERVING, peers: new Map(peers.map((p) => [p.vpnIp, PEER_REWRITING])) });
  for (const p of peers) h.birthday.onTestRequest(p, BIRTHDAY_REQUEST);
  h.runUntil(h.clock.now() + GLOBAL_WINDOW_MS - 1);
  assert.equal(h.probes.length, GLOBAL_RUNS * PROBES);
  assert.equal(h.counters.get('drops', 'birthday-global-rate'), peers.length - GLOBAL_RUNS);
});

test('no probes unless the views say we keep ports and the peer rewrites them', () => {
  const peer = host('10.99.0.9');
  const rewritingUs = [a('198.51.100.1', 50000), a('192.168.0.2', 4242)];
  const preservingPeer = [a('203.0.113.7', 4242), a('10.0.0.2', 4242)];
  assert.equal(probeTarget(rewritingUs, PEER_REWRITING), 'not-our-side');
  assert.equal(probeTarget([], PEER_REWRITING), 'not-our-side');
  assert.equal(probeTarget(SELF_PRESERVING, preservingPeer), 'peer-not-rewriting');
  assert.equal(probeTarget(SELF_PRESERVING, []), 'peer-not-seen');
  assert.equal(addrKey(probeTarget(SELF_PRESERVING, PEER_REWRITING) as UdpAddr), '203.0.113.7:40001');
  const h = harness({ self: rewritingUs, peers: new Map([[peer.vpnIp, PEER_REWRITING]]) });
  assert.equal(flood(h, peer, 5, 1000).length, 0);
  assert.equal(h.counters.get('drops', 'birthday-not-our-side'), 5);
});

test('the side that opens sockets starts exactly when the other side would probe: one rule, views swapped', () => {
  const views = [
    [],
    [a('198.51.100.1', 50000), a('192.168.0.2', 4242)], // rewriting
    [a('203.0.113.7', 4242), a('10.0.0.2', 4242)], // preserving
    [a('203.0.113.8', 4242), a('203.0.113.8', 4242)], // no NAT
    [a('203.0.113.9', 4242)], // seen, nothing reported: unknown
  ];
  let fits = 0;
  for (const symmetric of views) {
    for (const prober of views) {
      const starts = birthdaySides(symmetric, prober) === 'fit';
      const probes = typeof probeTarget(prober, symmetric) !== 'string';
      assert.equal(starts, probes, `${JSON.stringify(symmetric)} / ${JSON.stringify(prober)}`);
      if (starts) fits++;
    }
  }
  assert.equal(fits, 2, 'rewriting toward preserving, and toward no NAT');
});

// The views above come from the lighthouse's replies: what the server marks as seen and the client keeps.
function lighthouseRoundTrip(
  targetRemote: UdpAddr | null,
  reported: UdpAddr[],
  clientAllows: (addr: UdpAddr) => boolean = () => true,
): { view: readonly UdpAddr[]; all: UdpAddr[] } {
  const target = host('10.99.0.9', targetRemote);
  const querier = host('10.99.0.2', a('198.51.100.2', 4242));
  const lighthouse = host('10.99.0.1', a('192.0.2.1', 4242));
  const replies: MetaMessage[] = [];
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    remoteAllowed: () => true,
    hostFor: (ip) => (ip === target.vpnIp ? target : undefined),
    // Through the wire codec, as a reply really travels.
    send: (_to, m) => replies.push(decodeMeta(encodeMeta(m))),
    counters: new Counters(),
  });
  server.handle(target, { type: MetaType.HostUpdateNotification, vpnIp: target.vpnIp, addrs: reported, relays: [] });
  server.handle(querier, { type: MetaType.HostQuery, vpnIp: target.vpnIp, addrs: [], relays: [] });
  const client = new LighthouseClient(
    lighthouseClientEnv({
      lighthouses: () => [lighthouse.vpnIp],
      vpnAddrs: () => [querier.vpnIp],
      hostFor: () => undefined,
      remoteAllowed: (_vpnIp: number, addr: UdpAddr) => clientAllows(addr),
    }),
  );
  const reply = replies.find((m) => m.type === MetaType.HostQueryReply);
  assert.ok(reply);
  client.handle(lighthouse, reply);
  return { view: client.natViewOf(target.vpnIp), all: client.addressesOf(target.vpnIp) };
}

test('a lighthouse that reaches the peer only through a relay marks nothing as seen: the view is empty', () => {
  const victim = a('192.0.2.200', 53);
  const { view, all } = lighthouseRoundTrip(null, [victim, a('10.0.0.2', 4242)]);
  assert.deepEqual(all.map(addrKey), ['192.0.2.200:53', '10.0.0.2:4242'], 'the addresses are still candidates');
  assert.deepEqual(view, []);
});

test('a lighthouse with a direct tunnel marks the address it sees: the view starts with it', () => {
  const { view } = lighthouseRoundTrip(a('203.0.113.7', 40001), [a('192.0.2.200', 53), a('10.0.0.2', 4242)]);
  assert.deepEqual(view.map(addrKey), ['203.0.113.7:40001', '192.0.2.200:53', '10.0.0.2:4242']);
});

test('a seen address the querier may not use (remote_allow_list) leaves the view empty: the next one is no stand-in', () => {
  const seen = a('203.0.113.7', 40001);
  const { view, all } = lighthouseRoundTrip(
    seen,
    [a('192.0.2.200', 53), a('10.0.0.2', 4242)],
    (addr) => addrKey(addr) !== addrKey(seen),
  );
  assert.deepEqual(all.map(addrKey), ['192.0.2.200:53', '10.0.0.2:4242']);
  assert.deepEqual(view, []);
});

test('a Test datagram with counter 2^64-1 on the probe sockets is refused without an exception', async () => {
  const { MemoryNetwork } = await import('../../pkg/udp/memory-udp.js');
  const { ReplayWindow } = await import('../../pkg/replay/replay-window.js');
  const { createAead } = await import('../../pkg/noise/aead.js');
  const { escapedErrors } = await import('../../pkg/log/escaped-errors.js');
  const net = new MemoryNetwork();
  let port = 20000;
  const sockets: Array<ReturnType<typeof net.bind>> = [];
  const openSocket = async (): Promise<ReturnType<typeof net.bind>> => {
    const s = net.bind('192.0.2.50', port++);
    sockets.push(s);
    return s;
  };
  const h = harness({ self: [], peers: new Map() }, { openSocket });
  const birthday = h.birthday;
  const peer = Object.assign(host('10.99.0.9'), {
    localIndex: 77,
    replay: new ReplayWindow(),
    keys: { recv: createAead('aes', new Uint8Array(32)) },
    conn: null,
  });
  await birthday.start(peer, a('203.0.113.7', 4242));
  assert.equal(sockets.length > 0, true);
  const forged = Buffer.alloc(16 + 32);
  forged[0] = 0x14;
  forged.writeUInt32BE(77, 4);
  forged.writeUInt32BE(0xffffffff, 8);
  forged.writeUInt32BE(0xffffffff, 12);
  const before = escapedErrors.count('udp');
  const attacker = net.bind('198.51.100.66', 1);
  for (const s of sockets) attacker.send(forged, s.addr);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(escapedErrors.count('udp'), before, 'no listener threw');
  assert.equal(h.counters.get('birthday', 'success'), 0);
  assert.equal(peer.conn, null);
});
