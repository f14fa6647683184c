import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { addrKey, sameAddr, udpAddr } from '../../pkg/udp/addr.js';
import { TestMesh, underlayOf } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// Idle tunnels with punching off: whatever a node remembered about a peer's addresses may be dead when traffic
// resumes. In-process nodes on a MemoryNetwork, on one ManualClock (simulated time, nothing sleeps); L is the
// lighthouse.

const L = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';
const FAST = { handshakes: { try_interval: '20ms', retries: 10 } };

test('a handshake whose known addresses are all dead asks the lighthouse again and reaches the peer where it says', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const lh = { lighthouse: { hosts: [L] } };
  await mesh.node({ vpnIp: L, name: 'lh', tun: null, clock, config: { ...FAST, lighthouse: { am_lighthouse: true } } });
  // a remembers two addresses of b that no longer answer (as after a NAT forgot b's mappings).
  const dead = [udpAddr('203.0.113.7', 4242), udpAddr('203.0.113.8', 4242)];
  const a = await mesh.node({
    vpnIp: A,
    name: 'a',
    peers: [L],
    staticHostMap: { [B]: dead.map(addrKey) },
    clock,
    config: { ...FAST, ...lh },
  });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [L], clock, config: { ...FAST, ...lh } });
  await advanceUntil(clock, () => b.node.counters.get('lighthouse', 'update-sent') >= 1 && a.tunnelTo(L), {
    what: 'a and b at the lighthouse',
  });
  const queriesBefore = a.node.counters.get('lighthouse', 'query-sent');

  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'after the idle time' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, {
    timeoutMs: 2000,
    what: () =>
      `the packet at b (${a.node.counters.get('lighthouse', 'query-sent') - queriesBefore} queries)\n${a.logs.join('\n')}`,
  });
  assert.ok(sameAddr(a.tunnelTo(b)!.remote, underlayOf(B)), 'a reached b at the address the lighthouse gave');
  const stage1ToDead = a.memUdp!.sent.filter(
    (s) => dead.some((d) => sameAddr(d, s.to)) && isType(s.packet, MessageType.Handshake, 0, 1),
  );
  // The second attempt asked again, and the answer reached b before the fourth.
  assert.ok(stage1ToDead.length <= 3 * dead.length, `${stage1ToDead.length} stage 1s to the dead addresses`);
});

test('a relay that lost its tunnel to one end tells the other end, which rebuilds the relayed tunnel at once', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  // A reports to the lighthouse every second, so it finds out within a second that R forgot it (recv_error).
  const end = { ...FAST, lighthouse: { hosts: [L], interval: 1 }, relay: { relays: [L], use_relays: true } };
  const r = await mesh.node({
    vpnIp: L,
    name: 'relay',
    tun: null,
    clock,
    config: { ...FAST, lighthouse: { am_lighthouse: true }, relay: { am_relay: true } },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [L], clock, config: end });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [L], clock, config: end });
  // No direct path between a and b: the relay is the only one.
  mesh.net.drop = (_p, src, dst) =>
    (sameAddr(src, a.addr) && sameAddr(dst, b.addr)) || (sameAddr(src, b.addr) && sameAddr(dst, a.addr));
  await advanceUntil(
    clock,
    () =>
      r.tunnelTo(a) &&
      r.tunnelTo(b) &&
      a.node.counters.get('lighthouse', 'update-sent') >= 1 &&
      b.node.counters.get('lighthouse', 'update-sent') >= 1,
    {
      what: 'a and b at the lighthouse',
    },
  );
  await advanceFor(clock, 20);
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'via the relay' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, { timeoutMs: 3000, what: 'the relayed tunnel' });
  const old = b.tunnelTo(a)!;
  assert.equal(old.remote, null, 'relayed');

  // The relay drops its tunnel to a (its liveness check found it idle), and both legs with it; a does not know.
  r.node.closeTunnel(r.tunnelTo(a)!, 'test-idle', false);
  assert.equal(r.node.counters.get('relay', 'removed-sent'), 1, "b's leg is reported to b");
  // b sends first, 20 packets a second (the first ones go into the relay entry r no longer has).
  const sentAt = clock.now();
  const atA = a.tun.written.length;
  const stopSender = clock.every(50, () => b.tun.inject(udpPacket({ src: B, dst: A, payload: 'b sends first' })));
  await advanceUntil(clock, () => a.tun.written.length > atA, {
    timeoutMs: 3000,
    what: () => `b's packet at a\n--b\n${b.logs.join('\n')}\n--r\n${r.logs.join('\n')}`,
  });
  stopSender();
  const recoveryMs = clock.now() - sentAt;
  console.log(`relayed tunnel rebuilt: b's traffic back at a after ${recoveryMs} ms (simulated)`);
  assert.equal(b.node.counters.get('relay', 'removed-by-relay'), 1);
  assert.ok(recoveryMs <= 2000, `${recoveryMs} ms`);
});
