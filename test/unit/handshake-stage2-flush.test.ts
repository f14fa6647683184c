// A responder's stage 2 is flushed to the socket at once when it is alone, and shares a flush with the stage 2s
// that follow it within STAGE2_FLUSH_GAP_MS (pkg/handshake/stage2-flush.ts): a burst of stage 1s no longer costs a
// system call each.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CaPool } from '../../pkg/cert/index.js';
import { ManualClock } from '../../pkg/clock/clock.js';
import { localIdentity } from '../../pkg/handshake/identity.js';
import { HandshakeManager } from '../../pkg/handshake/manager.js';
import { STAGE2_FLUSH_GAP_MS } from '../../pkg/handshake/stage2-flush.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { makeHostCert, makeTestCa } from './helpers/pki.js';
import { responderEnv } from './helpers/responder-env.js';
import { stage1Packet } from './helpers/stage1.js';

function lighthouse(): {
  manager: HandshakeManager;
  clock: ManualClock;
  stage1: (i: number) => Uint8Array;
  io: { replies: number; flushes: number; repliesAtFlush: number[] };
} {
  const ca = makeTestCa();
  const pool = CaPool.fromPem(ca.pem);
  const lh = makeHostCert(ca, { name: 'lighthouse', ip: '10.99.0.1/16' });
  const identity = localIdentity(lh.cert, lh.privateKey);
  const clock = new ManualClock(1_000_000);
  const io = { replies: 0, flushes: 0, repliesAtFlush: [] as number[] };
  const manager = new HandshakeManager(
    responderEnv({
      hostmap: new HostMap(),
      clock,
      log: new Logger('error', 'text', () => {}),
      counters: new Counters(),
      identity: () => identity,
      caPool: () => pool,
      flushSends: () => {
        io.flushes++;
        io.repliesAtFlush.push(io.replies);
      },
    }),
  );
  const stage1 = (i: number): Uint8Array =>
    stage1Packet(makeHostCert(ca, { name: `node ${i}`, ip: `10.99.1.${i}/16` }), i);
  return { manager, clock, stage1, io };
}

test('a lone stage 2 is flushed at once; those right after it share the next flush', () => {
  const { manager, clock, stage1, io } = lighthouse();
  const answer = (i: number): void =>
    manager.handleStage1(stage1(i), { from: udpAddr(`198.18.1.${i}`, 4242), reply: () => io.replies++ });
  answer(1);
  assert.deepEqual(io.repliesAtFlush, [1], 'the first stage 2 leaves before handleStage1 returns');
  // A burst: the next ones within the gap wait in the socket's queue (flushed at the end of the turn by the socket).
  answer(2);
  clock.advance(STAGE2_FLUSH_GAP_MS / 2);
  answer(3);
  assert.equal(io.replies, 3);
  assert.deepEqual(io.repliesAtFlush, [1]);
  // The gap after the last flush: this one is flushed, and the two queued before it go with it.
  clock.advance(STAGE2_FLUSH_GAP_MS / 2);
  answer(4);
  assert.deepEqual(io.repliesAtFlush, [1, 4]);
  // Quiet again: a lone stage 2 later is flushed at once.
  clock.advance(10 * STAGE2_FLUSH_GAP_MS);
  answer(5);
  assert.deepEqual(io.repliesAtFlush, [1, 4, 5]);
});
