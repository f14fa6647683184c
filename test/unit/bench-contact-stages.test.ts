import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_SAMPLE_US, parseWindows, stageOf, stagesOf, type TimedProfile } from '../../bench/contact-stage-tally.js';
import type { ProfileNode } from '../../bench/profile-tally.js';

// bench/contact-stages.js's table (a first contact's CPU by stage): a sample outside the contact's window, an idle
// one, or a preempted interval counted in full would put CPU into the table that the contact never used.

const node = (id: number, functionName: string, children: number[]): ProfileNode => ({
  id,
  callFrame: { functionName, url: 'file:///work/main/dist/bin/mesh.bundle.cjs', lineNumber: 1 },
  children,
});

// (root) -> onUdp -> handleHandshake -> handleStage1 -> writeMessage2 (4) / verifyPeerCert (5); (root) -> (idle) (6).
const NODES = [
  node(1, '(root)', [2, 6]),
  node(2, 'onUdp', [3]),
  node(3, 'handleStage1', [4, 5]),
  node(4, 'writeMessage2', []),
  node(5, 'verifyPeerCert', []),
  node(6, '(idle)', []),
];
const NOISE = 'stage 1 (responder): noise (DH, key import, HKDF, AEAD)';
const VERIFY = 'stage 1 (responder): certificate verify';

test('a stack is classed by the stage it runs in, the innermost part of the stage first', () => {
  assert.equal(stageOf(['(root)', 'onUdp', 'handleStage1', 'verifyPeerCert', 'writeMessage2']), VERIFY);
  assert.equal(
    stageOf(['(root)', 'onUdp', 'handleStage2', 'readMessage2']),
    'stage 2 (initiator): noise (DH, key import, HKDF, AEAD)',
  );
  assert.equal(
    stageOf(['(root)', 'onUdp', 'handleStage2', 'complete', 'established', 'sendToHost']),
    'stage 2 (initiator): queued packet (firewall, seal, send)',
  );
  assert.equal(
    stageOf(['(root)', 'onUdp', 'onLighthouseMessage', 'reply', 'learned', 'trigger', 'start']),
    'lighthouse answer -> stage 1 build, send',
  );
  assert.equal(
    stageOf(['(root)', 'onTun', 'handleTunPacket', 'route', 'queryLighthouse']),
    'TUN read -> lighthouse query',
  );
  assert.equal(stageOf(['(root)', 'flushNow', 'openedData', 'writeBatch']), 'data: TUN write');
  assert.equal(stageOf(['(root)', '(garbage collector)']), 'GC');
  assert.equal(stageOf(['(root)', 'somethingElse']), 'other');
});

test('only busy samples within the window count, each for the time until the next sample, at most MAX_SAMPLE_US', () => {
  const profile: TimedProfile = {
    nodes: NODES,
    startTime: 1_000_000,
    // Taken at +50 (before the window), +100, +150, +200 (idle), +250, +1250 (after a preempted gap), +1300 (after).
    samples: [4, 4, 5, 6, 4, 5, 4],
    timeDeltas: [50, 50, 50, 50, 50, 1000, 50],
  };
  const stages = stagesOf(profile, 1_000_100, 1_001_250);
  assert.deepEqual(Object.fromEntries(stages), {
    total: 50 + 50 + MAX_SAMPLE_US + 50,
    [NOISE]: 50 + MAX_SAMPLE_US,
    [VERIFY]: 50 + 50,
  });
});

test('the windows of a latency.ts --windows log', () => {
  const log = [
    '  first prof trial 1: 8.38 ms (reply to request 1), a+b CPU 13.12 ms',
    '  contact window: a pid 16555, b pid 16546, monotonic 65363061545-65363078130 us',
    '  contact window: a pid 7, b pid 8, monotonic 1-2 us',
  ].join('\n');
  assert.deepEqual(parseWindows(log), [
    { a: 16555, b: 16546, fromUs: 65363061545, toUs: 65363078130 },
    { a: 7, b: 8, fromUs: 1, toUs: 2 },
  ]);
});
