import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { icmpEcho, isIcmpEcho } from './helpers/packets.js';
import { settle } from './helpers/wait.js';

// A relayed tunnel whose relay entry is gone (the relay dropped its leg, or our tunnel to the relay was replaced)
// has no path at all: every packet is dropped before it leaves. Such traffic is still traffic the peer should
// answer, so the dead-path detector (datapath/path-health.ts) must see it; otherwise the tunnel stays in the hostmap
// forever, swallowing every packet, and neither the detector nor liveness ever removes it.

const R = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';

/** `ms` of simulated time in 10 ms steps: a pings b at 10 Hz, b answers what its TUN gets, replies are counted. */
async function ping(
  clock: ManualClock,
  a: TestNode,
  b: TestNode,
  ms: number,
  until: () => boolean = () => false,
): Promise<number> {
  let replies = 0;
  let answered = b.tun.written.length;
  let seen = a.tun.written.length;
  for (let t = 0; t < ms && !until(); t += 10) {
    if (t % 100 === 0) a.tun.inject(icmpEcho(A, B, 8));
    for (; answered < b.tun.written.length; answered++)
      if (isIcmpEcho(b.tun.written[answered], 8)) b.tun.inject(icmpEcho(B, A, 0));
    for (; seen < a.tun.written.length; seen++) if (isIcmpEcho(a.tun.written[seen], 0)) replies++;
    clock.advance(10);
    await settle();
  }
  return replies;
}

/** A lighthouse-relay r and two ends a and b that talk through it (pings answered), on one ManualClock. */
async function talkingPair(t: {
  after(fn: () => unknown): void;
}): Promise<{ clock: ManualClock; mesh: TestMesh; a: TestNode; b: TestNode }> {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const fast = { handshakes: { try_interval: '20ms' } };
  const end = { ...fast, lighthouse: { hosts: [R] }, relay: { relays: [R], use_relays: true } };
  await mesh.node({
    vpnIp: R,
    name: 'r',
    tun: null,
    clock,
    config: { ...fast, lighthouse: { am_lighthouse: true }, relay: { am_relay: true } },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [R], clock, config: end });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [R], clock, config: end });
  assert.ok((await ping(clock, a, b, 2000)) >= 5, `a and b talk\n${a.logs.join('\n')}`);
  return { clock, mesh, a, b };
}

test(
  'a relayed tunnel that lost its relay entry while its peer is gone is removed within 2 s, not kept forever',
  { timeout: 20_000 },
  async (t) => {
    const { clock, mesh, a, b } = await talkingPair(t);

    // No direct path between a and b: the tunnel moves to the relay and pings keep coming back through it.
    mesh.net.drop = (_p, src, dst) =>
      (sameAddr(src, a.addr) && sameAddr(dst, b.addr)) || (sameAddr(src, b.addr) && sameAddr(dst, a.addr));
    await ping(clock, a, b, 2000);
    const tunnel = a.tunnelTo(b)!;
    assert.equal(tunnel.remote, null, `a sends through the relay\n${a.logs.join('\n')}`);
    assert.ok((await ping(clock, a, b, 1000)) >= 5, 'pings come back through the relay');

    // b dies, and a's relay entry toward it goes (as when the relay drops its leg and says so).
    mesh.net.drop = (_p, src, dst) => sameAddr(src, b.addr) || sameAddr(dst, b.addr);
    const entry = a.node.relays.table.terminalFor(b.vpnIp);
    assert.ok(entry, 'a had a relay entry toward b');
    a.node.relays.table.remove(entry);
    const goneAt = clock.now();
    await ping(clock, a, b, 5000, () => a.tunnelTo(b) !== tunnel);
    const noticed = clock.now() - goneAt;
    console.log(`relayed tunnel without a relay, peer gone: removed ${noticed} ms after (simulated)`);
    assert.notEqual(a.tunnelTo(b), tunnel, `the tunnel with no path was removed\n${a.logs.join('\n')}`);
    assert.ok(noticed <= 2000, `removed after ${noticed} ms (wanted <= 2000)`);
    assert.ok(a.node.counters.get('drops', 'no-path') >= 1, 'its packets had no path');
    assert.ok(a.node.handshakes.pending.has(b.vpnIp), 'a handshakes anew (its queue keeps the pings)');
  },
);

test(
  'a relayed tunnel that lost its relay entry carries pings again within 2 s while its peer lives',
  { timeout: 20_000 },
  async (t) => {
    const { clock, mesh, a, b } = await talkingPair(t);
    mesh.net.drop = (_p, src, dst) =>
      (sameAddr(src, a.addr) && sameAddr(dst, b.addr)) || (sameAddr(src, b.addr) && sameAddr(dst, a.addr));
    await ping(clock, a, b, 2000);
    assert.equal(a.tunnelTo(b)!.remote, null, `a sends through the relay\n${a.logs.join('\n')}`);

    // a's relay entry toward b goes (its tunnel to the relay was replaced, say); b is still there.
    a.node.relays.table.remove(a.node.relays.table.terminalFor(b.vpnIp)!);
    const lostAt = clock.now();
    let firstReplyAt: number | null = null;
    for (let i = 0; i < 50 && firstReplyAt === null; i++)
      if ((await ping(clock, a, b, 100)) > 0) firstReplyAt = clock.now();
    assert.ok(firstReplyAt !== null, `pings come back\n${a.logs.join('\n')}`);
    console.log(`relayed tunnel lost its relay entry: first reply ${firstReplyAt - lostAt} ms after (simulated)`);
    assert.ok(firstReplyAt - lostAt <= 2000, `first reply ${firstReplyAt - lostAt} ms after (wanted <= 2000)`);
  },
);
