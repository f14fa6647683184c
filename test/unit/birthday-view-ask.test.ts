// The port-preserving side of birthday punching may get the symmetric side's request before it ever asked a
// lighthouse about that peer: a tunnel it answered (over a relay) was never looked up, and the symmetric side asks
// as soon as it has measured its NAT, ~0.7 s after start, while our own first look-up comes at the upgrade check a
// second after the tunnel. The request was refused as 'peer-not-seen' and the requester does not ask again for
// PEER_RUN_INTERVAL_MS, so the pair stayed relayed (e2e nat-grid random <-> masq, about 1 run in 3). Now the request
// waits for the lighthouses' answer (one look-up per peer per interval) and is decided on it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { Birthday, VIEW_WAIT_MS } from '../../pkg/daemon/birthday.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { BIRTHDAY_PROBE, BIRTHDAY_REQUEST, PROBES } from '../../pkg/punchy/birthday.js';
import { PEER_RUN_INTERVAL_MS } from '../../pkg/punchy/birthday-policy.js';
import { udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// We keep ports (seen at our public IP with our own port); the peer's NAT rewrites them.
const SELF_PRESERVING = [udpAddr('198.51.100.1', 4242), udpAddr('192.168.0.2', 4242)];
const PEER_REWRITING = [udpAddr('203.0.113.7', 40001), udpAddr('10.0.0.2', 4242)];

const relayedPeer = (vpnIp: string): HostInfo => ({ vpnIp: parseIpv4(vpnIp), remote: null }) as unknown as HostInfo;

/** A prober whose lighthouse knows every peer but tells us only when asked (`answer` delivers the reply). */
function prober() {
  const clock = new ManualClock(1_000_000);
  const probes: UdpAddr[] = [];
  const asked: VpnIp[] = [];
  const known = new Map<VpnIp, UdpAddr[]>();
  const counters = new Counters();
  const birthday = new Birthday({
    tunnelEvents: new HostMap(),
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
    natViews: { self: () => SELF_PRESERVING, peer: (ip) => known.get(ip) ?? [], ask: (ip) => asked.push(ip) },
    onUdp: () => {},
    stopped: () => false,
  });
  /** Moves time on to `until`, running the timers due by then in time order (ManualClock's). */
  const runUntil = (until: number): void => clock.advance(until - clock.now());
  /** The lighthouse's answer about `peer` arrives (PathFinder.addressesLearned passes it on). */
  const answer = (peer: HostInfo, view: UdpAddr[]): void => {
    known.set(peer.vpnIp, view);
    birthday.peerViewLearned(peer.vpnIp);
  };
  return { birthday, clock, probes, asked, counters, runUntil, answer };
}

test('a request from a peer we never looked up asks the lighthouse and probes the address it saw', () => {
  const h = prober();
  const peer = relayedPeer('10.99.0.2');
  h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
  assert.deepEqual(h.asked, [peer.vpnIp], 'the lighthouse is asked about the requester');
  assert.equal(h.counters.get('drops', 'birthday-peer-not-seen'), 0, 'not refused while the answer is due');
  h.runUntil(h.clock.now() + 5);
  h.answer(peer, PEER_REWRITING);
  h.runUntil(h.clock.now() + 10_000);
  assert.ok(h.probes.length > 0 && h.probes.length <= PROBES, `${h.probes.length} probes`);
  assert.deepEqual([...new Set(h.probes.map((p) => p.address))], ['203.0.113.7']);
  assert.equal(h.counters.get('birthday', 'probing'), 1);
});

test('an answer that marks nothing as seen still refuses, and the look-up is not repeated within the interval', () => {
  const h = prober();
  const peer = relayedPeer('10.99.0.2');
  h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
  h.answer(peer, []);
  assert.equal(h.counters.get('drops', 'birthday-peer-not-seen'), 1);
  // The peer asks again and again: no more look-ups (and no probes) until PEER_RUN_INTERVAL_MS has passed.
  for (let i = 0; i < 20; i++) {
    h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
    h.runUntil(h.clock.now() + 100);
  }
  assert.equal(h.asked.length, 1);
  assert.equal(h.probes.length, 0);
  h.runUntil(h.clock.now() + PEER_RUN_INTERVAL_MS);
  h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
  assert.equal(h.asked.length, 2);
});

test('a lighthouse that never answers: the held request is dropped after VIEW_WAIT_MS, and a late answer starts nothing', () => {
  const h = prober();
  const peer = relayedPeer('10.99.0.2');
  h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
  h.birthday.onTestRequest(peer, BIRTHDAY_REQUEST);
  assert.equal(h.counters.get('drops', 'birthday-awaiting-view'), 1, 'one request held per peer');
  h.runUntil(h.clock.now() + VIEW_WAIT_MS);
  assert.equal(h.counters.get('drops', 'birthday-peer-not-seen'), 1);
  h.answer(peer, PEER_REWRITING);
  h.runUntil(h.clock.now() + 10_000);
  assert.equal(h.probes.length, 0, 'an answer nobody waits for makes no run');
});
