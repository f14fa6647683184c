import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock, unixMs } from '../../pkg/clock/clock.js';
import { CertExpiryWatch, MAX_WAIT_MS } from '../../pkg/daemon/cert-expiry.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';
import { makeHostCert } from './helpers/pki.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// pki.disconnect_invalid: a tunnel whose peer certificate expires while it is up is closed at the expiry (Nebula
// 1.6.1: 0.3-4.6 s after it; mesh used to look every 30 s). Time is simulated: a ManualClock runs the nodes' wall
// time and the expiry timer, so nothing sleeps.

const A = '10.99.0.1';
const B = '10.99.0.2';

/** Lets datagrams in flight (delivered on microtasks) and what they cause run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function pairWithExpiringPeer(t: { after(fn: () => unknown): void }, disconnectInvalid: boolean) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  // b's certificate ends 5.5 s of simulated time from now (notAfter is in whole seconds).
  const notAfter = Math.floor((unixMs(clock) + 5500) / 1000);
  const bCert = makeHostCert(mesh.ca, { name: 'b', ip: `${B}/24`, notAfter });
  const pki = { pki: { disconnect_invalid: disconnectInvalid } };
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config: pki });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, cert: bCert });
  await connect(a, b);
  return { clock, a, b, expiresAtMs: notAfter * 1000 };
}

test(
  'with disconnect_invalid a tunnel is closed within 1 s of its peer certificate expiring',
  { timeout: 5000 },
  async (t) => {
    const { clock, a, b, expiresAtMs } = await pairWithExpiringPeer(t, true);
    const tunnel = a.tunnelTo(b);
    assert.ok(tunnel);
    let closedAtMs: number | null = null;
    // 100 ms steps of traffic a -> b until 3 s past the expiry: the tunnel stays until the expiry, then goes.
    for (let step = 0; unixMs(clock) < expiresAtMs + 3000; step++) {
      clock.advance(100);
      a.tun.inject(udpPacket({ src: A, dst: B, payload: `a ${step}` }));
      await settle();
      if (a.tunnelTo(b) !== tunnel && closedAtMs === null) closedAtMs = unixMs(clock);
      if (closedAtMs === null) assert.ok(unixMs(clock) <= expiresAtMs + 1000, 'still up 1 s after the expiry');
    }
    assert.ok(closedAtMs !== null && closedAtMs > expiresAtMs, `closed at ${closedAtMs}, expiry ${expiresAtMs}`);
    assert.ok(closedAtMs - expiresAtMs <= 1000, `closed ${closedAtMs - expiresAtMs} ms after the expiry`);
    assert.equal(a.node.counters.get('tunnels-closed', 'invalid-cert'), 1);
    assert.ok(a.logs.some((l) => /Tunnel peer certificate expired, closing/.test(l)));
  },
);

test(
  'without disconnect_invalid a tunnel outlives its peer certificate, as in Nebula',
  { timeout: 5000 },
  async (t) => {
    const { clock, a, b, expiresAtMs } = await pairWithExpiringPeer(t, false);
    const tunnel = a.tunnelTo(b);
    // In 100 ms steps: a's one-way packet draws a liveness test request 5 s later, whose answer must be delivered
    // (settle) before path health would give up on it.
    while (unixMs(clock) < expiresAtMs + 2000) {
      clock.advance(100);
      await settle();
    }
    assert.equal(a.tunnelTo(b), tunnel);
    assert.equal(a.node.counters.get('tunnels-closed', 'invalid-cert'), 0);
  },
);

/** Fake tunnels: only what the watch reads. */
function fakeHost(certValidUntil: number): HostInfo {
  return { certValidUntil } as unknown as HostInfo;
}

function watchOver(clock: ManualClock, hosts: Set<HostInfo>, enabled = true) {
  const closed: HostInfo[] = [];
  const watch = new CertExpiryWatch({
    tunnelEvents: new HostMap(),
    clock,
    enabled: () => enabled,
    tunnels: () => hosts,
    expired: (h) => {
      hosts.delete(h);
      closed.push(h);
    },
  });
  return { watch, closed };
}

test('one timer serves all tunnels: each is closed just after its own expiry, a sooner one added later included', () => {
  const clock = new ManualClock(0);
  const nowS = Math.floor(unixMs(clock) / 1000);
  const late = fakeHost(nowS + 20);
  const soon = fakeHost(nowS + 10);
  const hosts = new Set([late]);
  const { watch, closed } = watchOver(clock, hosts);
  watch.recheck();
  hosts.add(soon);
  watch.added(soon);
  const at = (s: number): number => s * 1000 - unixMs(clock);
  clock.advance(at(nowS + 10)); // exactly notAfter: not yet expired
  assert.deepEqual(closed, []);
  clock.advance(1);
  assert.deepEqual(closed, [soon]);
  clock.advance(at(nowS + 20) + 1);
  assert.deepEqual(closed, [soon, late]);
  watch.stop();
});

test('the timer never waits longer than MAX_WAIT_MS, so a wall clock stepped forward is noticed', () => {
  const clock = new ManualClock(0);
  const host = fakeHost(Math.floor(unixMs(clock) / 1000) + 3600);
  const hosts = new Set([host]);
  const { watch, closed } = watchOver(clock, hosts);
  watch.recheck();
  // The wall clock jumps two hours ahead while the monotonic one does not move: only a look catches it.
  const monotonicWall = clock.unixMs.bind(clock);
  clock.unixMs = () => monotonicWall() + 2 * 3600 * 1000;
  clock.advance(MAX_WAIT_MS);
  assert.deepEqual(closed, [host]);
  watch.stop();
});

test('no timer is armed without disconnect_invalid or without tunnels', () => {
  const clock = new ManualClock(0);
  const hosts = new Set([fakeHost(Math.floor(unixMs(clock) / 1000) + 1)]);
  const off = watchOver(clock, hosts, false);
  off.watch.recheck();
  off.watch.added([...hosts][0]);
  clock.advance(10_000);
  assert.deepEqual(off.closed, []);
  const none = watchOver(clock, new Set());
  none.watch.recheck();
  assert.equal(clock.pending, 0);
});

test('a tunnel the hostmap installs is watched through its installed event, with nobody calling added', () => {
  const clock = new ManualClock(0);
  const hostmap = new HostMap();
  const closed: HostInfo[] = [];
  const watch = new CertExpiryWatch({
    tunnelEvents: hostmap,
    clock,
    enabled: () => true,
    tunnels: () => hostmap.hosts(),
    expired: (h) => {
      hostmap.close(h);
      closed.push(h);
    },
  });
  watch.recheck(); // no tunnels: nothing armed
  const nowS = Math.floor(unixMs(clock) / 1000);
  const soon = {
    vpnIp: 1,
    vpnAddrs: [1],
    localIndex: hostmap.allocateIndex(),
    remoteIndex: 7,
    certValidUntil: nowS + 10,
  } as unknown as HostInfo;
  hostmap.add(soon);
  clock.advance((nowS + 10) * 1000 - unixMs(clock) + 1);
  assert.deepEqual(closed, [soon]);
  watch.stop();
});
