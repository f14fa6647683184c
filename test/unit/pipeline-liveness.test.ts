import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { checkLiveness } from '../../pkg/datapath/liveness.js';
import { MessageType } from '../../pkg/header/header.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// The connection manager (docs/state-machines.md, "Liveness") with short timers from the config
// (timers.connection_alive_interval and timers.pending_deletion_interval, 100 ms each). The node checks once a second;
// the tests call checkLiveness every 20 ms instead, so that a check comes soon after each deadline. Time is
// simulated (one ManualClock for both nodes): nothing sleeps.

const A = '10.99.0.1';
const B = '10.99.0.2';
const C = '10.99.0.3';
const ALIVE_MS = 100;
const PENDING_MS = 100;
const TIMERS = { timers: { connection_alive_interval: `${ALIVE_MS}ms`, pending_deletion_interval: `${PENDING_MS}ms` } };

/** a and b on one ManualClock with the short timers, each the other's peer, no tunnel yet. */
async function twoNodes(t: { after(fn: () => unknown): void }) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config: TIMERS });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, config: TIMERS });
  return { clock, mesh, a, b };
}

async function setup(t: { after(fn: () => unknown): void }) {
  const { clock, mesh, a, b } = await twoNodes(t);
  await connect(a, b);
  await connect(b, a);
  // Let a check that the handshake traffic scheduled come and go, so the next send schedules a fresh one.
  await advanceFor(clock, ALIVE_MS + 20);
  checkLiveness(a.node);
  checkLiveness(a.node);
  return { clock, mesh, a, b };
}

/** Calls checkLiveness on `n` every 20 ms of simulated time for `ms`, or until `done` holds. */
async function drive(
  clock: ManualClock,
  n: { node: Parameters<typeof checkLiveness>[0] },
  ms: number,
  done: () => boolean = () => false,
): Promise<void> {
  const until = clock.now() + ms;
  while (clock.now() < until && !done()) {
    checkLiveness(n.node);
    await advanceFor(clock, 20);
  }
}

test('the config sets the liveness timers', async (t) => {
  const { a } = await setup(t);
  assert.deepEqual(a.node.timers, { aliveIntervalMs: ALIVE_MS, pendingDeletionIntervalMs: PENDING_MS });
});

test('a silent peer gets a test request after the alive interval and its tunnel is removed after pending deletion', async (t) => {
  const { clock, mesh, a, b } = await setup(t);
  mesh.net.drop = (_p, src) => sameAddr(src, b.addr);
  const sentBefore = a.memUdp!.sent.length;
  const started = clock.now();
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'anyone?' }));

  await drive(clock, a, 2000, () => a.tunnelTo(b) === undefined);
  const elapsed = clock.now() - started;
  assert.equal(a.tunnelTo(b), undefined, 'the tunnel was removed');
  assert.ok(
    elapsed >= ALIVE_MS + PENDING_MS && elapsed <= ALIVE_MS + PENDING_MS + 60,
    `removed after ${elapsed.toFixed(0)} ms: after alive + pending deletion, within a few checks of it`,
  );
  assert.equal(a.node.counters.get('tunnels-dead'), 1);
  assert.equal(a.node.counters.get('tunnels-closed', 'dead'), 1);
  assert.ok(a.logs.some((l) => l.includes('Tunnel status dead, removing')));
  const sent = a.memUdp!.sent.slice(sentBefore);
  assert.equal(
    sent.filter((s) => isType(s.packet, MessageType.Test, 0)).length,
    1,
    'one test request before giving up',
  );
  assert.equal(
    sent.filter((s) => isType(s.packet, MessageType.CloseTunnel)).length,
    0,
    'no close is sent to a dead peer',
  );
});

test('a peer that answers the test request keeps its tunnel', async (t) => {
  const { clock, a, b } = await setup(t);
  const tunnel = a.tunnelTo(b);
  const sentBefore = a.memUdp!.sent.length;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'one way only' }));

  await drive(clock, a, 3 * (ALIVE_MS + PENDING_MS));
  assert.equal(a.tunnelTo(b), tunnel);
  assert.equal(a.node.counters.get('tunnels-dead'), 0);
  const tests = a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Test, 0));
  assert.equal(tests.length, 1, 'the one-way traffic was checked with a test request');
  await advanceUntil(
    clock,
    () => {
      checkLiveness(a.node);
      return tunnel!.pendingDeletion === false && tunnel!.checkAt === 0;
    },
    { stepMs: 20, what: 'the check to clear' },
  );
});

test('a tunnel that carries nothing is never checked', async (t) => {
  const { clock, a, b } = await setup(t);
  const sentBefore = a.memUdp!.sent.length;
  await drive(clock, a, 2 * (ALIVE_MS + PENDING_MS));
  assert.ok(a.tunnelTo(b));
  assert.equal(a.memUdp!.sent.length, sentBefore, 'no test requests on an idle tunnel');
});

test('answering a test request does not start a test of our own: one test per check on a one-way tunnel, not a ping-pong', async (t) => {
  const { clock, a, b } = await setup(t);
  // b's check of the handshake traffic too, so both sides start from a passed check.
  checkLiveness(b.node);
  checkLiveness(b.node);
  const aBefore = a.memUdp!.sent.length;
  const bBefore = b.memUdp!.sent.length;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'one way only' }));
  // Eight alive intervals with both sides checking: before, b's test reply scheduled a check on b that nothing
  // after it passed, so b tested a, whose reply made a test b again, for as long as the tunnel lived.
  const until = clock.now() + 8 * ALIVE_MS;
  while (clock.now() < until) {
    checkLiveness(a.node);
    checkLiveness(b.node);
    await advanceFor(clock, 20);
  }
  const testsBy = (n: typeof a, from: number) =>
    n.memUdp!.sent.slice(from).filter((s) => isType(s.packet, MessageType.Test, 0)).length;
  assert.equal(testsBy(a, aBefore), 1, 'a tests its one-way traffic once');
  assert.equal(testsBy(b, bBefore), 0, 'b heard a test request before its reply was due for a check');
  assert.ok(a.tunnelTo(b) && b.tunnelTo(a));
});

test('tunnels that die in the same check are all removed, and a live one beside them is kept', async (t) => {
  const D = '10.99.0.4';
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B, C, D], config: TIMERS });
  const others = [
    await mesh.node({ vpnIp: B, name: 'b', peers: [A], config: TIMERS }),
    await mesh.node({ vpnIp: C, name: 'c', peers: [A], config: TIMERS }),
    await mesh.node({ vpnIp: D, name: 'd', peers: [A], config: TIMERS }),
  ];
  for (const o of others) {
    await connect(a, o);
    await connect(o, a);
  }
  await advanceFor(clock, ALIVE_MS + 20);
  checkLiveness(a.node);
  const [b, c, d] = others;
  mesh.net.drop = (_p, src) => sameAddr(src, b.addr) || sameAddr(src, c.addr);
  for (const dst of [B, C, D]) a.tun.inject(udpPacket({ src: A, dst, payload: 'anyone?' }));
  // Called only after both checks are due, so b and c fail in one pass and die in one pass.
  await advanceFor(clock, ALIVE_MS + 20);
  checkLiveness(a.node);
  await advanceFor(clock, PENDING_MS + 20);
  checkLiveness(a.node);
  assert.equal(a.tunnelTo(b), undefined);
  assert.equal(a.tunnelTo(c), undefined);
  assert.ok(a.tunnelTo(d), 'd answered its test request');
  assert.equal(a.node.counters.get('tunnels-dead'), 2);
});

test('a tunnel closed before its check comes due is not checked: no test request on it, not counted dead', async (t) => {
  const { clock, mesh, a, b } = await setup(t);
  mesh.net.drop = (_p, src) => sameAddr(src, b.addr);
  const tunnel = a.tunnelTo(b)!;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'then closed' }));
  await advanceFor(clock, 20);
  assert.notEqual(tunnel.checkAt, 0, 'the send scheduled a check');
  a.node.closeTunnel(tunnel, 'test', false);
  const sentBefore = a.memUdp!.sent.length;
  await drive(clock, a, 2 * (ALIVE_MS + PENDING_MS));
  const tests = a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Test, 0));
  assert.equal(tests.length, 0, 'no test request on the closed tunnel');
  assert.equal(a.node.counters.get('tunnels-dead') ?? 0, 0);
  assert.equal(tunnel.checkAt, 0, 'its check was dropped when it came due');
});

/** a with tunnels to b and c, the handshake's checks come and gone, then b and c silent (nothing from them arrives). */
async function silentPeersOfA(t: { after(fn: () => unknown): void }) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B, C], clock, config: TIMERS });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, config: TIMERS });
  const c = await mesh.node({ vpnIp: C, name: 'c', peers: [A], clock, config: TIMERS });
  await connect(a, b);
  await connect(a, c);
  await advanceFor(clock, 3 * ALIVE_MS);
  for (let i = 0; i < 20; i++) {
    checkLiveness(a.node);
    await advanceFor(clock, 20);
  }
  mesh.net.drop = (_p, src) => sameAddr(src, b.addr) || sameAddr(src, c.addr);
  return { clock, a, b, c };
}

test('a test request whose send throws costs no other tunnel its check: both silent peers are removed', async (t) => {
  const { clock, a, b, c } = await silentPeersOfA(t);
  // Both checks are filed in the same tick, so they come due in the same slot.
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'x' }));
  a.tun.inject(udpPacket({ src: A, dst: C, payload: 'x' }));
  await advanceFor(clock, 10);
  const udp = a.memUdp!;
  const send = udp.send.bind(udp);
  let throws = 1;
  udp.send = (p: Uint8Array, to: Parameters<typeof send>[1]) => {
    if (throws > 0 && isType(p, MessageType.Test, 0)) {
      throws--;
      throw new Error('EPERM, once');
    }
    return send(p, to);
  };
  let thrown = 0;
  for (let i = 0; i < 100 && (a.tunnelTo(b) !== undefined || a.tunnelTo(c) !== undefined); i++) {
    try {
      checkLiveness(a.node);
    } catch (err) {
      // As the node's timer task does: a throw is logged and the next tick comes.
      assert.match(String(err), /EPERM/);
      thrown++;
    }
    await advanceFor(clock, 20);
  }
  assert.equal(thrown, 1, 'one send threw');
  assert.equal(a.tunnelTo(b), undefined, 'b removed');
  assert.equal(a.tunnelTo(c), undefined, 'c removed');
});

test('a tunnel found dead in the check where another test request throws is removed all the same', async (t) => {
  const { clock, a, b } = await silentPeersOfA(t);
  // Early in a 1 s slot of the wheel, so b's pending deletion and c's first check, ~100 ms apart, share one.
  await advanceFor(clock, 1000 - (clock.now() % 1000) + 50);
  const udp = a.memUdp!;
  const send = udp.send.bind(udp);
  let tests = 0;
  udp.send = (p: Uint8Array, to: Parameters<typeof send>[1]) => {
    // The first test request (b's) goes out; the second (c's, in the check that finds b dead) fails.
    if (isType(p, MessageType.Test, 0) && ++tests === 2) throw new Error('EPERM, once');
    return send(p, to);
  };
  // b's check comes due ALIVE_MS after its packet: its test request goes out and its pending deletion is filed
  // PENDING_MS later; c's packet right after files c's first check for the same moment, behind b's.
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'x' }));
  await advanceFor(clock, ALIVE_MS);
  checkLiveness(a.node);
  assert.equal(tests, 1, "b's test request sent");
  a.tun.inject(udpPacket({ src: A, dst: C, payload: 'x' }));
  await advanceFor(clock, PENDING_MS);
  assert.throws(() => checkLiveness(a.node), /EPERM/, "c's test request threw, in the check that found b dead");
  assert.equal(a.tunnelTo(b), undefined, 'b, found dead in that check, removed');
});

/** The remote index a packet `a` sent carries (the header's bytes 4-7): which tunnel it went on. */
function remoteIndexOf(packet: Uint8Array): number {
  return new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(4);
}

test('a tunnel replaced by a new handshake while its check is filed: the old one is not checked, the new one is', async (t) => {
  const { clock, mesh, a, b } = await setup(t);
  mesh.net.drop = (_p, src) => sameAddr(src, b.addr);
  const old = a.tunnelTo(b)!;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'one way, then b restarts' }));
  await advanceFor(clock, 10);
  assert.notEqual(old.checkAt, 0, "the send filed the old tunnel's check");
  // b restarts with its certificate and address (its close is lost) and reaches a first: a new handshake, whose
  // tunnel replaces the old one at a while the old one's check is still filed.
  await b.stop();
  mesh.net.drop = () => false;
  const b2 = await mesh.node({ vpnIp: B, name: 'b2', cert: b.cert, peers: [A], clock, config: TIMERS });
  await connect(b2, a);
  const fresh = a.tunnelTo(b2)!;
  assert.notEqual(fresh, old, 'replaced');
  assert.notEqual(old.checkAt, 0, "the old tunnel's check is still filed");
  // Traffic both ways on the new tunnel files its first check, which passes (the old one's comes due meanwhile);
  // then b2 falls silent and a sends on the new tunnel, which files the new tunnel's next check.
  await connect(a, b2);
  await connect(b2, a);
  assert.notEqual(fresh.checkAt, 0, "the new tunnel's first check is filed");
  await drive(clock, a, ALIVE_MS + 40);
  assert.equal(fresh.checkAt, 0, "the new tunnel's first check passed");
  mesh.net.drop = (_p, src) => sameAddr(src, b2.addr);
  const sentBefore = a.memUdp!.sent.length;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'one way on the new tunnel' }));

  await drive(clock, a, 3 * (ALIVE_MS + PENDING_MS), () => a.tunnelTo(b2) === undefined);
  assert.equal(old.checkAt, 0, "the old tunnel's check came due and was dropped");
  const tests = a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Test, 0));
  assert.deepEqual(
    tests.map((s) => remoteIndexOf(s.packet)),
    [fresh.remoteIndex],
    'one test request, on the new tunnel; none on the old one',
  );
  assert.equal(a.tunnelTo(b2), undefined, 'the silent new tunnel was removed');
  assert.equal(a.node.counters.get('tunnels-dead'), 1, 'counted dead once: the new tunnel, not the old one as well');
  assert.equal(a.node.hostmap.byIndex.has(old.localIndex), false, 'nothing keeps the old tunnel');
});

test('a candidate sent on before its promotion: its check is dropped while it is a candidate, and after the promotion its next send is checked', async (t) => {
  const { clock, mesh, a, b } = await twoNodes(t);
  // b's handshake reaches a, nothing else of b's: a holds a candidate, unused, so a sends a test request on it
  // (candidate-test-requests.ts), which files the candidate's check.
  mesh.net.drop = (p, src) => sameAddr(src, b.addr) && !isType(p, MessageType.Handshake);
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'lost' }));
  await advanceUntil(clock, () => a.node.hostmap.candidatesFor(b.vpnIp).length > 0, {
    what: "a's candidate",
  });
  const candidate = a.node.hostmap.candidatesFor(b.vpnIp)[0]!;
  await advanceUntil(clock, () => candidate.checkAt !== 0, { what: "the candidate's test request" });
  // Its check comes due while it is still a candidate: dropped, not a test of the (absent) tunnel.
  await drive(clock, a, ALIVE_MS + 40);
  assert.ok(a.node.hostmap.isCandidate(candidate), 'still a candidate');
  assert.equal(candidate.checkAt, 0, "the candidate's check was dropped when it came due");
  // b's next packet gets through: the candidate is promoted. a's next send files its check, which passes (b's packet
  // came in since the tunnel was made).
  mesh.net.drop = () => false;
  await connect(b, a);
  assert.equal(a.tunnelTo(b), candidate, 'promoted');
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'the first send on the promoted tunnel' }));
  await advanceFor(clock, 10);
  assert.notEqual(candidate.checkAt, 0, "a's next send filed the promoted tunnel's check");
  await drive(clock, a, ALIVE_MS + 40);
  assert.equal(candidate.checkAt, 0, 'checked');
  assert.equal(candidate.packetsInAtCheck, candidate.packetsIn, "and passed on b's packet");
  // Then b falls silent and a sends once more: a test request on it, and its removal.
  mesh.net.drop = (_p, src) => sameAddr(src, b.addr);
  const sentBefore = a.memUdp!.sent.length;
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'one way on the promoted tunnel' }));
  await drive(clock, a, 3 * (ALIVE_MS + PENDING_MS), () => a.tunnelTo(b) === undefined);
  const tests = a.memUdp!.sent.slice(sentBefore).filter((s) => isType(s.packet, MessageType.Test, 0));
  assert.deepEqual(
    tests.map((s) => remoteIndexOf(s.packet)),
    [candidate.remoteIndex],
    'one test request on it',
  );
  assert.equal(a.tunnelTo(b), undefined, 'the silent promoted tunnel was removed');
  assert.equal(a.node.counters.get('tunnels-dead'), 1);
});
