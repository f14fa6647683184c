import assert from 'node:assert/strict';
import { test } from 'node:test';

import { dispatchHandshake, type HandshakeStages } from '../../pkg/datapath/handshake-dispatch.js';
import type { PacketSource } from '../../pkg/handshake/manager.js';
import { HandshakeSubType } from '../../pkg/header/header.js';
import { Counters } from '../../pkg/metrics/counters.js';

function recorder(): HandshakeStages & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    handleStage1: (_p: Uint8Array, _src: PacketSource) => void calls.push('stage1'),
    handleStage2: (_p: Uint8Array, remoteIndex: number, _src: PacketSource) => void calls.push(`stage2 ${remoteIndex}`),
  };
}

test('a handshake packet goes to the stage its counter names; other counters and subtypes are dropped and counted', () => {
  const stages = recorder();
  const counters = new Counters();
  const src = { from: null, reply: () => {} } as unknown as PacketSource;
  const packet = new Uint8Array(32);
  dispatchHandshake(stages, counters, packet, { subtype: HandshakeSubType.IXPSK0, counter: 1, remoteIndex: 0 }, src);
  dispatchHandshake(stages, counters, packet, { subtype: HandshakeSubType.IXPSK0, counter: 2, remoteIndex: 77 }, src);
  dispatchHandshake(stages, counters, packet, { subtype: HandshakeSubType.IXPSK0, counter: 3, remoteIndex: 88 }, src);
  dispatchHandshake(stages, counters, packet, { subtype: 9, counter: 1, remoteIndex: 0 }, src);
  assert.deepEqual(stages.calls, ['stage1', 'stage2 77']);
  assert.equal(counters.get('drops', 'handshake-bad-counter'), 1);
  assert.equal(counters.get('drops', 'handshake-unknown-subtype'), 1);
});
