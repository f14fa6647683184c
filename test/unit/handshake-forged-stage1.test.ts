import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import {
  CANDIDATE_HOLD_MS,
  CANDIDATE_PROOF_WAIT_MS,
  HANDSHAKE_TIME_SKEW_MS,
  MAX_CANDIDATES_PER_VPN_IP,
  RETRANSMIT_MEMORY_MS,
} from '../../pkg/handshake/manager.js';
import { MessageType } from '../../pkg/header/header.js';
import { sameAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import type { MemoryUdp } from '../../pkg/udp/memory-udp.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { isType, udpPacket, udpPayloadText } from './helpers/packets.js';
import { forgedStage1 } from './helpers/stage1.js';
import { waitFor } from './helpers/wait.js';

// IX stage 1 travels in clear (e ‖ s ‖ payload, no MAC), so anyone who has seen a host's stage 1 can send one with
// that host's certificate and public static key: only the answer's keys need the private key. Such a forgery must
// not take a working tunnel out of service, and its Time (up to 2^64-1 ns) must not shut the real peer out.
// The nodes run on one ManualClock: time is simulated, and "gap" means simulated milliseconds without delivery.

const A = '10.99.0.1';
const B = '10.99.0.2';
/** Nebula's defaults: stage 1 every 100 ms more than the last, 10 retries. */
const NEBULA_TIMING = { handshakes: { try_interval: '100ms', retries: 10 } };
const MAX_UINT64 = (1n << 64n) - 1n;

async function pair(t: { after(fn: () => unknown): void }) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, config: NEBULA_TIMING });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, config: NEBULA_TIMING });
  return { clock, mesh, a, b };
}

/** A host on the underlay that records what reaches it. */
function attackerAt(mesh: TestMesh, address: string): { udp: MemoryUdp; received: Uint8Array[]; addr: UdpAddr } {
  const udp = mesh.net.bind(address, 4242);
  const received: Uint8Array[] = [];
  udp.onPacket((p) => received.push(p));
  return { udp, received, addr: udp.addr };
}

/** Lets every datagram in flight (delivered on microtasks) and its consequences run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * `steps` rounds of simulated `stepMs`: each round a packet goes a -> b and b -> a. Returns the longest time each
 * direction went without a delivery. `during(step)` runs before the round's packets.
 */
async function traffic(
  clock: ManualClock,
  a: TestNode,
  b: TestNode,
  o: { steps: number; stepMs: number; during?(step: number): void },
): Promise<{ gapAtoB: number; gapBtoA: number }> {
  let lastAtB = clock.now();
  let lastAtA = clock.now();
  let gapAtoB = 0;
  let gapBtoA = 0;
  for (let step = 1; step <= o.steps; step++) {
    clock.advance(o.stepMs);
    o.during?.(step);
    await settle();
    const [atA, atB] = [a.tun.written.length, b.tun.written.length];
    a.tun.inject(udpPacket({ src: A, dst: B, payload: `a ${step}` }));
    b.tun.inject(udpPacket({ src: B, dst: A, payload: `b ${step}` }));
    await settle();
    if (b.tun.written.length > atB) lastAtB = clock.now();
    if (a.tun.written.length > atA) lastAtA = clock.now();
    gapAtoB = Math.max(gapAtoB, clock.now() - lastAtB);
    gapBtoA = Math.max(gapBtoA, clock.now() - lastAtA);
  }
  return { gapAtoB, gapBtoA };
}

test('a forged stage 1 for a peer with a working tunnel leaves that tunnel carrying traffic both ways, without a gap', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  await connect(a, b);
  const working = b.tunnelTo(a)!;
  const attacker = attackerAt(mesh, '203.0.113.66');
  const candidatesBefore = b.node.counters.get('handshakes', 'candidate');

  // 3 s of traffic at 10 packets a second each way; the forgery arrives after 1 s.
  const gaps = await traffic(clock, a, b, {
    steps: 30,
    stepMs: 100,
    during: (step) => {
      if (step === 10) attacker.udp.send(forgedStage1(a.node.identity(), MAX_UINT64, a.config.cipher), b.addr);
    },
  });

  assert.ok(
    gaps.gapAtoB <= 100 && gaps.gapBtoA <= 100,
    `longest gaps: a->b ${gaps.gapAtoB} ms, b->a ${gaps.gapBtoA} ms`,
  );
  assert.equal(b.tunnelTo(a), working, 'the working tunnel is still the one in service');
  assert.equal(working.handshakeTime < 2 ** 63, true, "the working tunnel kept the real peer's Time");
  // b did answer (it cannot tell a forgery from a restart by looking), but only as a candidate, and it asked the
  // candidate to prove itself; the forger cannot, having neither the static key nor the session keys.
  const [candidate] = b.node.hostmap.candidatesFor(a.vpnIp);
  assert.ok(candidate && candidate !== working);
  assert.equal(b.node.hostmap.byIndex.get(candidate.localIndex), candidate, 'reachable by its index, for the proof');
  assert.equal(b.node.hostmap.byRemoteIndex.get(candidate.remoteIndex), undefined, 'out of recv_error lookups');
  assert.equal(attacker.received.filter((p) => isType(p, MessageType.Handshake, 0, 2)).length, 1, 'one stage 2');
  assert.equal(attacker.received.filter((p) => isType(p, MessageType.Test, 0)).length, 1, 'one test request');
  assert.equal(b.node.counters.get('handshakes', 'candidate') - candidatesBefore, 1);
  assert.equal(b.node.counters.get('tunnels-replaced'), 0);
  assert.equal(a.node.handshakes.pending.size, 0, 'a never had to handshake again');
});

test('after a forged stage 1 with Time 2^64-1 the real peer, restarted, gets its new tunnel at once', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  await connect(a, b);
  const old = b.tunnelTo(a)!;
  const attacker = attackerAt(mesh, '203.0.113.66');
  attacker.udp.send(forgedStage1(a.node.identity(), MAX_UINT64, a.config.cipher), b.addr);
  await settle();
  assert.equal(b.node.hostmap.candidatesFor(a.vpnIp).length, 1, 'the forgery is held as a candidate');

  clock.advance(2000);
  // a crashes (its close never reaches b) and comes back with the same certificate and address.
  mesh.net.drop = (p, src) => sameAddr(src, a.addr) && isType(p, MessageType.CloseTunnel);
  await a.stop();
  mesh.net.drop = () => false;
  const a2 = await mesh.node({ vpnIp: A, name: 'a2', cert: a.cert, peers: [B], clock, config: NEBULA_TIMING });
  a2.tun.inject(udpPacket({ src: A, dst: B, payload: 'after restart' }));
  await settle();

  // No simulated time passed: the first stage 1 did it.
  assert.equal(udpPayloadText(b.tun.written.at(-1)!), 'after restart');
  const fresh = b.tunnelTo(a2)!;
  assert.notEqual(fresh, old);
  assert.equal(b.node.hostmap.byIndex.has(old.localIndex), false, 'the old tunnel is gone');
  assert.equal(b.node.hostmap.candidates.size, 0, 'the forged candidate is gone');
  assert.equal(b.node.counters.get('drops', 'handshake-too-old'), 0);
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'reply' }));
  await settle();
  assert.equal(udpPayloadText(a2.tun.written.at(-1)!), 'reply');
});

/**
 * Restarts `b` at its address with its certificate, its close lost (a crash). b has the higher overlay IP, so while
 * its own handshake is pending it drops a's stage 1 as a race (as Nebula 1.6.1 does): only b's stage 1 can bring
 * the pair together again.
 */
async function restartB(mesh: TestMesh, clock: ManualClock, b: TestNode): Promise<TestNode> {
  mesh.net.drop = (p, src) => sameAddr(src, b.addr) && isType(p, MessageType.CloseTunnel);
  await b.stop();
  mesh.net.drop = () => false;
  return mesh.node({ vpnIp: B, name: 'b2', cert: b.cert, peers: [A], clock, config: NEBULA_TIMING });
}

// Every 900 ms, the reviewer's case; every 1000 ms kept a forged candidate always fresh under the old rule of one
// held candidate per overlay IP, and the restarted peer out for good.
for (const periodMs of [900, 1000]) {
  test(`a restarted peer gets in at once while a forger repeats its stage 1 every ${periodMs} ms for 10 s`, async (t) => {
    const { clock, mesh, a, b } = await pair(t);
    await connect(a, b);
    const old = a.tunnelTo(b)!;
    const attacker = attackerAt(mesh, '203.0.113.66');
    const forge = () => attacker.udp.send(forgedStage1(b.node.identity(), MAX_UINT64, b.config.cipher), a.addr);
    forge();
    await settle();
    clock.advance(500);
    const b2 = await restartB(mesh, clock, b);

    // 10 s at 10 packets a second each way between a and b2, the forgery again every periodMs.
    const gaps = await traffic(clock, a, b2, {
      steps: 100,
      stepMs: 100,
      during: (step) => {
        if ((step * 100 + 500) % periodMs === 0) forge();
        a.node.handshakes.tick();
        b2.node.handshakes.tick();
      },
    });

    t.diagnostic(`longest gaps: a->b2 ${gaps.gapAtoB} ms, b2->a ${gaps.gapBtoA} ms`);
    // One step of traffic (100 ms) is the resolution: a's first packet after the restart goes into the old tunnel.
    assert.ok(
      gaps.gapAtoB <= 100 && gaps.gapBtoA <= 100,
      `longest gaps: a->b2 ${gaps.gapAtoB} ms, b2->a ${gaps.gapBtoA} ms`,
    );
    const fresh = a.tunnelTo(b2)!;
    assert.ok(fresh !== old && fresh.proven && sameAddr(fresh.remote, b2.addr), "b2's own tunnel is in service");
    // From the forger's one address, a forgery is answered only CANDIDATE_HOLD_MS after the last answered one, and
    // never more than one forged candidate is held.
    const forged = a.node.hostmap.candidatesFor(b.vpnIp);
    assert.ok(forged.length <= 1 && forged.every((c) => sameAddr(c.remote, attacker.addr)));
    const answered = attacker.received.filter((p) => isType(p, MessageType.Handshake, 0, 2)).length;
    assert.ok(answered <= Math.ceil(10_500 / CANDIDATE_HOLD_MS), `${answered} stage 2s to the forger`);
  });
}

test('forgeries from 8 addresses every 100 ms neither keep out nor push out a restarted peer at its known address', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  await connect(a, b);
  const attackers = Array.from({ length: 8 }, (_, i) => attackerAt(mesh, `203.0.113.${10 + i}`));
  let sent = 0;
  const forgeAll = () => {
    for (const attacker of attackers)
      attacker.udp.send(forgedStage1(b.node.identity(), MAX_UINT64, b.config.cipher), a.addr);
    sent += attackers.length;
  };
  forgeAll();
  await settle();
  clock.advance(CANDIDATE_HOLD_MS);
  const b2 = await restartB(mesh, clock, b);
  let mostHeld = 0;
  const gaps = await traffic(clock, a, b2, {
    steps: 30,
    stepMs: 100,
    during: () => {
      forgeAll();
      a.node.handshakes.tick();
      b2.node.handshakes.tick();
      mostHeld = Math.max(mostHeld, a.node.hostmap.candidatesFor(b.vpnIp).length);
    },
  });

  t.diagnostic(`${sent} forgeries; longest gaps: a->b2 ${gaps.gapAtoB} ms, b2->a ${gaps.gapBtoA} ms`);
  assert.ok(
    gaps.gapAtoB <= 100 && gaps.gapBtoA <= 100,
    `longest gaps: a->b2 ${gaps.gapAtoB} ms, b2->a ${gaps.gapBtoA} ms`,
  );
  assert.ok(sameAddr(a.tunnelTo(b2)?.remote, b2.addr) && a.tunnelTo(b2)!.proven);
  assert.ok(mostHeld <= MAX_CANDIDATES_PER_VPN_IP, `${mostHeld} candidates held for one overlay IP`);
  // Once the candidates for b's IP are all held, forgeries take only the places of those older than CANDIDATE_HOLD_MS.
  const answered = attackers.reduce(
    (n, x) => n + x.received.filter((p) => isType(p, MessageType.Handshake, 0, 2)).length,
    0,
  );
  assert.ok(answered <= MAX_CANDIDATES_PER_VPN_IP * 5, `${answered} stage 2s to the forgers in ~4 s`);
});

test('a forged stage 1 for a peer without a tunnel is only a candidate: our own traffic reaches the peer within CANDIDATE_PROOF_WAIT_MS', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  const attacker = attackerAt(mesh, '203.0.113.66');
  attacker.udp.send(forgedStage1(a.node.identity(), MAX_UINT64, a.config.cipher), b.addr);
  await settle();
  assert.equal(b.tunnelTo(a), undefined, 'nothing in the send path');
  const [forged] = b.node.hostmap.candidatesFor(a.vpnIp);
  assert.ok(forged && !forged.proven);
  assert.ok(
    forged.handshakeTime <= (clock.unixMs() + HANDSHAKE_TIME_SKEW_MS) * 1e6,
    `stored Time ${forged.handshakeTime}`,
  );

  // b has something to say to a: it waits out the forged candidate's proof, then handshakes itself.
  const started = clock.now();
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'from b' }));
  await settle();
  for (let i = 0; i < 200 && a.tun.written.length === 0; i++) {
    clock.advance(10);
    b.node.handshakes.tick();
    await settle();
  }
  const took = clock.now() - started;
  assert.equal(udpPayloadText(a.tun.written.at(-1)!), 'from b');
  assert.ok(took <= CANDIDATE_PROOF_WAIT_MS + 20, `delivered after ${took} ms`);
  assert.equal(
    attacker.received.filter((p) => isType(p, MessageType.Message)).length,
    0,
    'nothing went into the forged tunnel',
  );
  const real = b.tunnelTo(a)!;
  assert.ok(real !== forged && real.proven);
  assert.equal(b.node.hostmap.byIndex.has(forged.localIndex), false, 'the forged candidate ended with the real tunnel');

  // And the other way: a's traffic uses the tunnel at once.
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'real a' }));
  await settle();
  assert.equal(udpPayloadText(b.tun.written.at(-1)!), 'real a');
  assert.equal(b.node.counters.get('drops', 'handshake-too-old'), 0);
});

test("a node that answered a peer's stage 1 sends no stage 1 of its own while the peer's proof is on its way", async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  // a's first data packet (and its reply to b's test request) are held back in flight.
  const held: Uint8Array[] = [];
  mesh.net.drop = (p, src) => {
    if (sameAddr(src, a.addr) && (isType(p, MessageType.Message) || isType(p, MessageType.Test))) {
      held.push(Uint8Array.from(p));
      return true;
    }
    return false;
  };
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'from a' }));
  await settle();
  await settle();
  assert.ok(a.tunnelTo(b) && held.length > 0 && b.node.hostmap.candidatesFor(a.vpnIp).length === 1);

  const stage1sFromB = () => b.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Handshake, 0, 1)).length;
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'from b' }));
  clock.advance(CANDIDATE_PROOF_WAIT_MS / 2);
  b.node.handshakes.tick();
  await settle();
  assert.equal(stage1sFromB(), 0, 'b waits for the proof');

  mesh.net.drop = () => false;
  for (const p of held) mesh.net.deliver(p, a.addr, b.addr);
  await settle();
  assert.ok(b.tun.written.some((p) => udpPayloadText(p) === 'from a'));
  assert.ok(
    a.tun.written.some((p) => udpPayloadText(p) === 'from b'),
    "b's queued packet went into the proven tunnel",
  );
  assert.equal(b.node.handshakes.pending.size, 0, "b's own handshake gave way");
  clock.advance(CANDIDATE_PROOF_WAIT_MS);
  b.node.handshakes.tick();
  await settle();
  assert.equal(stage1sFromB(), 0, 'and never sent a stage 1');
  assert.equal(a.node.counters.get('handshakes', 'started'), 1, 'a handshook once');
});

test('a handshake of ours that went out while a candidate waited for its proof is seen through, not dropped', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  // Everything a sends after its stage 1 is held back longer than CANDIDATE_PROOF_WAIT_MS (a slow path).
  const held: Uint8Array[] = [];
  mesh.net.drop = (p, src) => {
    if (sameAddr(src, a.addr) && !isType(p, MessageType.Handshake, 0, 1)) {
      held.push(Uint8Array.from(p));
      return true;
    }
    return false;
  };
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'from a' }));
  await settle();
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'from b' }));
  clock.advance(CANDIDATE_PROOF_WAIT_MS);
  b.node.handshakes.tick();
  await settle();
  await settle();
  assert.equal(
    b.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Handshake, 0, 1)).length,
    1,
    'b handshakes itself',
  );

  // a's first packet on the first tunnel lands now, its answer to b's stage 1 right behind: b promotes the first
  // tunnel, and b's own handshake (which a may have taken: Nebula 1.6.1 would have) goes on and replaces it.
  mesh.net.drop = () => false;
  held.sort((x, y) => Number(isType(x, MessageType.Handshake)) - Number(isType(y, MessageType.Handshake)));
  for (const p of held.splice(0)) mesh.net.deliver(p, a.addr, b.addr);
  for (let i = 0; i < 50 && (b.node.handshakes.pending.size > 0 || !a.tun.written.length); i++) {
    clock.advance(10);
    a.node.handshakes.tick();
    b.node.handshakes.tick();
    await settle();
  }
  assert.equal(b.node.counters.get('drops', 'handshake-unknown-index'), 0, "b took a's answer to its stage 1");
  assert.ok(a.tun.written.some((p) => udpPayloadText(p) === 'from b'));
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  assert.ok(
    ba.initiator && ab.remoteIndex === ba.localIndex && ba.remoteIndex === ab.localIndex,
    'both ends use the same tunnel',
  );
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'again a' }));
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'again b' }));
  await settle();
  assert.equal(udpPayloadText(b.tun.written.at(-1)!), 'again a');
  assert.equal(udpPayloadText(a.tun.written.at(-1)!), 'again b');
});

test('a peer whose clock ran hours ahead can handshake again once its clock is right', async (t) => {
  const clock = new ManualClock(1_000_000);
  // 12 hours: far enough to matter, near enough for both certificates (valid for a day) to stay valid on a's clock.
  const ahead = new ManualClock(1_000_000);
  ahead.advance(12 * 3600 * 1000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock: ahead, config: NEBULA_TIMING });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, config: NEBULA_TIMING });
  await connect(a, b);
  const first = b.tunnelTo(a);
  assert.ok(first, "b accepted a's handshake");
  assert.ok(first.handshakeTime <= (clock.unixMs() + HANDSHAKE_TIME_SKEW_MS) * 1e6, 'stored clamped to our time');

  clock.advance(2 * HANDSHAKE_TIME_SKEW_MS);
  mesh.net.drop = (p, src) => sameAddr(src, a.addr) && isType(p, MessageType.CloseTunnel);
  await a.stop();
  mesh.net.drop = () => false;
  const a2 = await mesh.node({ vpnIp: A, name: 'a2', cert: a.cert, peers: [B], clock, config: NEBULA_TIMING });
  a2.tun.inject(udpPacket({ src: A, dst: B, payload: 'clock fixed' }));
  await waitFor(() => b.tun.written.some((p) => udpPayloadText(p) === 'clock fixed'), {
    what: 'the packet after the clock fix',
  });
  assert.equal(b.node.counters.get('drops', 'handshake-too-old'), 0);
});

test('an unproven candidate is dropped after RETRANSMIT_MEMORY_MS and one source holds at most one per CANDIDATE_HOLD_MS', async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  await connect(a, b);
  const attacker = attackerAt(mesh, '203.0.113.66');
  for (let i = 0; i < 5; i++) {
    attacker.udp.send(forgedStage1(a.node.identity(), BigInt(i + 1) << 61n, a.config.cipher), b.addr);
    await settle();
    clock.advance(CANDIDATE_HOLD_MS / 2);
  }
  assert.equal(b.node.hostmap.candidatesFor(a.vpnIp).length, 1);
  // 5 forgeries half a hold apart: the 1st, 3rd and 5th were answered, each replacing the one before.
  assert.equal(attacker.received.filter((p) => isType(p, MessageType.Handshake, 0, 2)).length, 3);
  assert.equal(b.node.counters.get('drops', 'handshake-candidate-held'), 2);
  assert.equal(b.node.hostmap.byIndex.size, 2, 'the tunnel and one candidate');

  clock.advance(RETRANSMIT_MEMORY_MS);
  b.node.handshakes.forgetOldAnswers();
  assert.equal(b.node.hostmap.candidates.size, 0);
  assert.equal(b.node.hostmap.byIndex.size, 1);
  assert.equal(b.node.counters.get('drops', 'handshake-candidate-expired'), 1);
});

test("a peer's old stage 1 replayed from 200 addresses makes one test request a second on its tunnel and at most 10 log lines", async (t) => {
  const { clock, mesh, a, b } = await pair(t);
  const stage1s: Uint8Array[] = [];
  mesh.net.drop = (p, src) => {
    if (sameAddr(src, a.addr) && isType(p, MessageType.Handshake, 0, 1)) stage1s.push(Uint8Array.from(p));
    return false;
  };
  await connect(a, b);
  const tunnel = b.tunnelTo(a)!;
  assert.ok(tunnel.proven && stage1s.length > 0);
  const toA = () =>
    b.memUdp!.sent.filter((s) => sameAddr(s.to, a.addr) && isType(s.packet, MessageType.Test, 0)).length;
  const testsBefore = toA();
  const logsBefore = b.logs.length;

  // Two simulated seconds, 100 replays from fresh addresses in each.
  for (let i = 0; i < 200; i++) {
    mesh.net.deliver(stage1s[0], { address: `203.0.113.${1 + (i % 250)}`, port: 1000 + i }, b.addr);
    await settle();
    await settle();
    if (i % 100 === 99) clock.advance(1000);
  }

  assert.equal(b.node.counters.get('drops', 'handshake-too-old'), 200);
  assert.equal(toA() - testsBefore, 2, 'one test request per simulated second');
  const tooOld = b.logs.slice(logsBefore).filter((l) => l.includes('Handshake too old'));
  assert.ok(tooOld.length <= 10, `${tooOld.length} log lines`);
  assert.equal(b.tunnelTo(a), tunnel);
});
