import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import {
  CANDIDATE_TEST_DELAY_MS,
  CandidateTestRequests,
  MAX_DELAYED_TEST_REQUESTS,
} from '../../pkg/handshake/candidate-test-requests.js';
import { MessageType, TestSubType } from '../../pkg/header/header.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// A candidate tunnel's test request goes only when its peer has not used it within CANDIDATE_TEST_DELAY_MS
// (docs/state-machines.md, "Responder and candidate tunnels"): a real initiator's first packet makes it needless.

function fakeHost(name: string): HostInfo {
  return { name } as unknown as HostInfo;
}

function tests(clock: ManualClock) {
  const candidates = new Set<HostInfo>();
  const sent: HostInfo[] = [];
  let flushes = 0;
  const requests = new CandidateTestRequests({
    clock,
    isCandidate: (h) => candidates.has(h),
    sendTestRequest: (h) => sent.push(h),
    flushSends: () => flushes++,
    sendFailed: (e) => assert.fail(e),
  });
  const answer = (name: string): HostInfo => {
    const h = fakeHost(name);
    candidates.add(h);
    requests.schedule(h);
    return h;
  };
  return { requests, candidates, sent, answer, flushes: () => flushes };
}

test('a candidate whose peer uses it within the delay gets no test request', () => {
  const clock = new ManualClock(1000);
  const { requests, sent, answer } = tests(clock);
  const h = answer('used');
  clock.advance(CANDIDATE_TEST_DELAY_MS - 1);
  requests.cancel(h); // promoted by the peer's first packet
  clock.advance(10 * CANDIDATE_TEST_DELAY_MS);
  assert.deepEqual(sent, []);
  assert.equal(requests.waiting, 0);
});

test('an unused candidate gets exactly one test request, when the delay ends, in one flush with those due with it', () => {
  const clock = new ManualClock(1000);
  const { sent, answer, flushes } = tests(clock);
  const first = answer('first');
  const second = answer('second');
  clock.advance(10);
  const third = answer('third');
  clock.advance(CANDIDATE_TEST_DELAY_MS - 11);
  assert.deepEqual(sent, [], 'nothing before the delay');
  clock.advance(1);
  assert.deepEqual(sent, [first, second]);
  assert.equal(flushes(), 1);
  clock.advance(10);
  assert.deepEqual(sent, [first, second, third]);
  clock.advance(100 * CANDIDATE_TEST_DELAY_MS);
  assert.deepEqual(sent, [first, second, third], 'never a second one');
  assert.equal(clock.pending, 0, 'no timer left armed');
});

test('a candidate that went (pushed out, expired, its node stopping) gets no test request', () => {
  const clock = new ManualClock(1000);
  const { candidates, sent, answer } = tests(clock);
  const gone = answer('gone');
  const kept = answer('kept');
  candidates.delete(gone);
  clock.advance(CANDIDATE_TEST_DELAY_MS);
  assert.deepEqual(sent, [kept]);
});

test('sendNow sends a waiting test request at once and only once; nothing for a used or gone candidate', () => {
  const clock = new ManualClock(1000);
  const { requests, candidates, sent, answer } = tests(clock);
  const h = answer('wanted');
  requests.sendNow(h);
  assert.deepEqual(sent, [h]);
  requests.sendNow(h);
  clock.advance(CANDIDATE_TEST_DELAY_MS);
  assert.deepEqual(sent, [h], 'not again at the delay');
  const gone = answer('gone');
  candidates.delete(gone);
  requests.sendNow(gone);
  assert.deepEqual(sent, [h]);
});

test('past MAX_DELAYED_TEST_REQUESTS waiting, a test request goes at once (the wait list is bounded)', () => {
  const clock = new ManualClock(1000);
  const { requests, sent, answer } = tests(clock);
  for (let i = 0; i < MAX_DELAYED_TEST_REQUESTS; i++) answer(`c${i}`);
  assert.equal(sent.length, 0);
  const extra = answer('extra');
  assert.deepEqual(sent, [extra]);
  assert.equal(requests.waiting, MAX_DELAYED_TEST_REQUESTS);
  clock.advance(CANDIDATE_TEST_DELAY_MS);
  assert.equal(sent.length, MAX_DELAYED_TEST_REQUESTS + 1);
  assert.equal(requests.waiting, 0);
});

test('a candidate scheduled again waits its new delay without holding up those due before it', () => {
  const clock = new ManualClock(1000);
  const { requests, sent, answer } = tests(clock);
  const first = answer('first');
  clock.advance(10);
  const second = answer('second');
  clock.advance(CANDIDATE_TEST_DELAY_MS - 20);
  requests.schedule(first);
  clock.advance(25);
  assert.deepEqual(sent, [second], 'second is due and goes, though first was added before it');
  clock.advance(CANDIDATE_TEST_DELAY_MS);
  assert.deepEqual(sent, [second, first]);
});

test('stopped, the waiting test requests are dropped with their timer', () => {
  const clock = new ManualClock(1000);
  const { requests, sent, answer } = tests(clock);
  answer('held');
  assert.equal(clock.pending, 1);
  requests.stop();
  assert.equal(clock.pending, 0, 'no timer left on the clock');
  answer('answered while stopping');
  assert.equal(clock.pending, 0, 'a candidate answered after the stop arms nothing');
  clock.advance(10 * CANDIDATE_TEST_DELAY_MS);
  assert.deepEqual(sent, []);
  assert.equal(requests.waiting, 0);
});

const A = '10.99.0.1';
const B = '10.99.0.2';

/** a and b on one ManualClock, not yet connected. */
async function meshPair(t: TestContext): Promise<{ clock: ManualClock; a: TestNode; b: TestNode }> {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B] });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A] });
  return { clock, a, b };
}

function testRequestsSent(node: TestNode): number {
  return node.memUdp!.sent.filter((d) => isType(d.packet, MessageType.Test, TestSubType.Request)).length;
}

test('a peer with nothing to send proves its candidate through the one delayed test request', async (t) => {
  const { clock, a, b } = await meshPair(t);
  // A handshake with no packet queued: a sends nothing on the tunnel of its own accord.
  a.node.handshakes.start(parseVpnIp(B));
  await advanceUntil(clock, () => a.tunnelTo(b) !== undefined, { stepMs: 1 });
  const answeredAt = clock.now();
  assert.equal(b.tunnelTo(a), undefined, 'b holds an unproven candidate');
  await advanceFor(clock, CANDIDATE_TEST_DELAY_MS - 5, 1);
  assert.equal(testRequestsSent(b), 0, 'no test request before the delay');
  await advanceUntil(clock, () => b.tunnelTo(a) !== undefined, { stepMs: 1 });
  assert.ok(clock.now() - answeredAt >= CANDIDATE_TEST_DELAY_MS, 'promoted after the delay');
  assert.equal(testRequestsSent(b), 1);
  assert.equal(b.node.counters.get('handshakes', 'promoted'), 1);
  await advanceFor(clock, 1000);
  assert.equal(testRequestsSent(b), 1, 'one test request in all');
});

test('our own traffic to a peer with an unproven candidate asks for its proof at once, not after the delay', async (t) => {
  const { clock, a, b } = await meshPair(t);
  a.node.handshakes.start(parseVpnIp(B));
  await advanceUntil(clock, () => a.tunnelTo(b) !== undefined, { stepMs: 1 });
  const sentAt = clock.now();
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'from b' }));
  await advanceUntil(clock, () => a.tun.written.length > 0, { stepMs: 1 });
  assert.ok(clock.now() - sentAt < CANDIDATE_TEST_DELAY_MS, `b's packet at a after ${clock.now() - sentAt} ms`);
  assert.equal(testRequestsSent(b), 1);
  assert.equal(b.node.counters.get('handshakes', 'promoted'), 1);
});

test('when both start at once and the peer that stays initiator has nothing to send, our queued packet goes within a round trip', async (t) => {
  const { clock, a, b } = await meshPair(t);
  // b (the higher overlay IP) stays the initiator and has nothing queued; a's handshake, with a packet, gives way.
  b.node.handshakes.start(parseVpnIp(A));
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'from a' }));
  const sentAt = clock.now();
  await advanceUntil(clock, () => b.tun.written.length > 0, { stepMs: 1 });
  assert.ok(clock.now() - sentAt < CANDIDATE_TEST_DELAY_MS, `a's packet at b after ${clock.now() - sentAt} ms`);
  assert.equal(a.node.counters.get('drops', 'handshake-race') + b.node.counters.get('drops', 'handshake-race'), 1);
});

test('a node stopping with an unproven candidate sends it no test request while its socket is still open', async (t) => {
  const { clock, a, b } = await meshPair(t);
  a.node.handshakes.start(parseVpnIp(B));
  await advanceUntil(clock, () => a.tunnelTo(b) !== undefined, { stepMs: 1 });
  assert.equal(b.tunnelTo(a), undefined, 'b holds an unproven candidate');
  // MeshNode.stop waits a real 50 ms for close datagrams before closing the socket; the delay passes meanwhile.
  const stopping = b.node.stop();
  clock.advance(2 * CANDIDATE_TEST_DELAY_MS);
  await stopping;
  assert.equal(testRequestsSent(b), 0);
});
