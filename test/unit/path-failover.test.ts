import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { WARM_RELAY_CHECK_MS } from '../../pkg/daemon/path-finder.js';
import { sameAddr, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { icmpEcho, isIcmpEcho } from './helpers/packets.js';
import { settle } from './helpers/wait.js';

// A tunnel whose path dies (datapath/path-health.ts, daemon/path-finder.ts), on in-process nodes: the detector's
// timers, the handshake ticker and the punch settle included, run on a ManualClock, so outages are measured in
// simulated ms; datagrams travel on microtasks, which settle() lets run after each simulated step.

const R = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';
const STEP_MS = 10;

/** A pinger on `from` toward `to` at 10 Hz of simulated time; `to` answers every echo request its TUN gets. */
class Pinger {
  private seq = 0;
  private answered = new Map<TestNode, number>();
  private seenReplies: number;
  private lastSendAt = -Infinity;
  /** Simulated times at which replies came back. */
  readonly replies: number[] = [];

  constructor(
    private readonly clock: ManualClock,
    private readonly from: TestNode,
    private responders: TestNode[],
  ) {
    this.seenReplies = from.tun.written.length;
  }

  addResponder(n: TestNode): void {
    this.responders.push(n);
  }

  /** Runs `ms` of simulated time in STEP_MS steps, pinging every 100 ms and answering pings at the far end. */
  async run(ms: number, until: () => boolean = () => false): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end && !until()) {
      if (this.clock.now() - this.lastSendAt >= 100) {
        this.lastSendAt = this.clock.now();
        this.from.tun.inject(icmpEcho(this.from.vpnIpText, B, 8, ++this.seq));
      }
      for (const r of this.responders) {
        const written = r.tun.written;
        for (let i = this.answered.get(r) ?? 0; i < written.length; i++) {
          if (isIcmpEcho(written[i], 8)) r.tun.inject(icmpEcho(B, this.from.vpnIpText, 0, 0));
        }
        this.answered.set(r, written.length);
      }
      const got = this.from.tun.written;
      for (; this.seenReplies < got.length; this.seenReplies++)
        if (isIcmpEcho(got[this.seenReplies], 0)) this.replies.push(this.clock.now());
      this.clock.advance(STEP_MS);
      await settle();
    }
  }

  repliesAfter(t: number): number[] {
    return this.replies.filter((r) => r > t);
  }
}

async function lab(t: { after(fn: () => unknown): void }, withRelay: boolean) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const fast = { handshakes: { try_interval: '20ms' } };
  const relayCfg = withRelay ? { relays: [R], use_relays: true } : { use_relays: false };
  const end = { ...fast, lighthouse: { hosts: [R] }, relay: relayCfg };
  const r = await mesh.node({
    vpnIp: R,
    name: 'r',
    tun: null,
    clock,
    config: { ...fast, lighthouse: { am_lighthouse: true }, relay: { am_relay: withRelay } },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [R], clock, config: end });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [R], clock, config: end });
  const pinger = new Pinger(clock, a, [b]);
  // Both report to the lighthouse, then a's pings bring the tunnel up (directly: nothing is cut yet).
  await pinger.run(2000, () => pinger.replies.length >= 5);
  assert.ok(pinger.replies.length >= 5, `a and b talk directly\n${a.logs.join('\n')}\n${b.logs.join('\n')}`);
  assert.ok(a.tunnelTo(b)?.remote, 'the tunnel is direct');
  return { clock, mesh, r, a, b, pinger, end };
}

function cutBetween(mesh: TestMesh, x: UdpAddr, y: UdpAddr): void {
  mesh.net.drop = (_p, src, dst) => (sameAddr(src, x) && sameAddr(dst, y)) || (sameAddr(src, y) && sameAddr(dst, x));
}

test(
  'a direct path that goes dead fails over to the warm relay within 1 s, and moves back when it works again',
  { timeout: 20_000 },
  async (t) => {
    const { clock, mesh, a, b, pinger } = await lab(t, true);
    // The handshake's relayed copy set up a relay entry; without one (gone with a relay restart, say) the next warm-up
    // check while a sends to b sets it up again ahead of time, so the failover need not wait for it.
    const first = a.node.relays.table.terminalFor(b.vpnIp);
    if (first) a.node.relays.table.remove(first);
    await pinger.run(WARM_RELAY_CHECK_MS + 500, () => a.node.relays.table.terminalFor(b.vpnIp) !== undefined);
    assert.ok(a.node.relays.table.terminalFor(b.vpnIp), 'a warm relay to b');
    const tunnel = a.tunnelTo(b)!;

    cutBetween(mesh, a.addr, b.addr);
    const cutAt = clock.now();
    await pinger.run(3000, () => pinger.repliesAfter(cutAt).length >= 3);
    const back = pinger.repliesAfter(cutAt);
    assert.ok(back.length >= 3, `pings come back over the relay\n${a.logs.join('\n')}\n${b.logs.join('\n')}`);
    const outage = back[0] - cutAt;
    console.log(`direct path cut: first reply over the relay after ${outage} ms (simulated)`);
    assert.ok(outage <= 1000, `traffic over the relay ${outage} ms after the cut (wanted <= 1000)`);
    assert.equal(a.tunnelTo(b), tunnel, 'the same tunnel (keys) carries on, only its path changed');
    assert.equal(a.tunnelTo(b)!.remote, null, 'a sends through the relay');
    assert.equal(b.tunnelTo(a)!.remote, null, 'b answers through the relay too');
    assert.ok(a.node.counters.get('path', 'failover-relay') >= 1);

    // The direct path works again: the background upgrade (every few seconds; run here at once) takes it back.
    mesh.net.drop = () => false;
    a.node.paths.upgradeRelayed();
    const healedAt = clock.now();
    for (let i = 0; i < 100 && (a.tunnelTo(b)?.remote === null || b.tunnelTo(a)?.remote === null); i++) {
      await pinger.run(50);
    }
    assert.ok(a.tunnelTo(b)?.remote && sameAddr(a.tunnelTo(b)!.remote, b.addr), 'a is direct again');
    assert.ok(b.tunnelTo(a)?.remote && sameAddr(b.tunnelTo(a)!.remote, a.addr), 'b is direct again');
    console.log(
      `direct path back: both ends direct again ${clock.now() - healedAt} ms after the upgrade round (simulated)`,
    );
    const relayedBefore = a.node.counters.get('path', 'failover-relay');
    const directAt = clock.now();
    await pinger.run(1000);
    assert.ok(pinger.repliesAfter(directAt).length >= 8, 'pings flow on the direct path');
    assert.equal(a.node.counters.get('path', 'failover-relay'), relayedBefore, 'and it stays direct');
    assert.equal(a.tunnelTo(b), tunnel);
  },
);

test(
  'a peer restarted on a new address (same certificate) is reached again within 2 s',
  { timeout: 20_000 },
  async (t) => {
    const { clock, mesh, a, b, pinger, end } = await lab(t, false);
    // b dies without a word (SIGKILL): nothing from or to its address gets through any more.
    const dead = b.addr;
    mesh.net.drop = (_p, src, dst) => sameAddr(src, dead) || sameAddr(dst, dead);
    await pinger.run(2000);
    // ... and comes back, same certificate, on another address; it reports to the lighthouse at start.
    const b2 = await mesh.node({
      vpnIp: B,
      name: 'b2',
      peers: [R],
      clock,
      cert: b.cert,
      underlay: udpAddr('198.51.100.120', 5555),
      config: end,
    });
    pinger.addResponder(b2);
    const restartedAt = clock.now();
    await pinger.run(5000, () => pinger.repliesAfter(restartedAt).length >= 1);
    const back = pinger.repliesAfter(restartedAt);
    assert.ok(back.length >= 1, `a reaches b2\n${a.logs.join('\n')}\n${b2.logs.join('\n')}`);
    const outage = back[0] - restartedAt;
    console.log(`peer restarted on a new address: first reply ${outage} ms after its start (simulated)`);
    assert.ok(outage <= 2000, `first reply ${outage} ms after the restart (wanted <= 2000)`);
    assert.ok(sameAddr(a.tunnelTo(B)!.remote, b2.addr), 'the tunnel now goes to the new address');
  },
);

test(
  'a peer that is gone (SIGKILL, no restart) is noticed within 2 s: tunnel removed, a new handshake holds the packets',
  { timeout: 20_000 },
  async (t) => {
    const { clock, mesh, a, b, pinger } = await lab(t, true);
    const tunnel = a.tunnelTo(b)!;
    const dead = b.addr;
    mesh.net.drop = (_p, src, dst) => sameAddr(src, dead) || sameAddr(dst, dead);
    const killedAt = clock.now();
    await pinger.run(3000, () => a.tunnelTo(b) !== tunnel);
    const noticed = clock.now() - killedAt;
    console.log(`peer gone: tunnel removed ${noticed} ms after (simulated)`);
    assert.notEqual(a.tunnelTo(b), tunnel, `the dead tunnel was removed\n${a.logs.join('\n')}`);
    assert.ok(noticed <= 2000, `noticed after ${noticed} ms (wanted <= 2000)`);
    assert.equal(a.node.counters.get('tunnels-closed', 'dead'), 1);
    assert.ok(a.node.handshakes.pending.has(b.vpnIp), 'a handshakes anew (its queue keeps the pings)');
    assert.ok(a.logs.some((l) => l.includes('Tunnel status dead') && l.includes('no answer on any path')));
  },
);

test(
  'losing a local address moves tunnels in use onto the relay at once, and pings keep coming back',
  { timeout: 20_000 },
  async (t) => {
    const { clock, mesh, a, b, pinger } = await lab(t, true);
    // a's address is about to change: the direct path dies with it.
    cutBetween(mesh, a.addr, b.addr);
    const lostAt = clock.now();
    a.node.paths.addressLost();
    assert.equal(a.tunnelTo(b)!.remote, null, 'a sends through the relay at once');
    await pinger.run(1000, () => pinger.repliesAfter(lostAt).length >= 3);
    const back = pinger.repliesAfter(lostAt);
    assert.ok(back.length >= 3, `pings come back over the relay\n${a.logs.join('\n')}`);
    console.log(`address lost: first reply over the relay after ${back[0] - lostAt} ms (simulated)`);
    assert.ok(back[0] - lostAt <= 300, `first reply ${back[0] - lostAt} ms after the loss`);
  },
);
