// A MeshNode's timers are on its injected clock (pkg/clock/clock.ts, pkg/daemon/node.ts): on a ManualClock its
// periodic tasks run only as the clock advances, the handshake ticker lives only while a handshake is pending, and
// stop() leaves nothing armed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { REFILL_AFTER_MS } from '../../pkg/noise/ephemeral-keys.js';
import { TestMesh } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { advanceFor, advanceUntil, settle, sleep } from './helpers/wait.js';

const LH = '10.99.0.1';
const N = '10.99.0.2';

test('lighthouse updates go out once per interval of the node clock, never on real time, and stop() disarms every timer', async (t) => {
  const clock = new ManualClock(1_000_000);
  const idle = clock.pending;
  const mesh = new TestMesh(t, { clock });
  const lh = await mesh.node({ vpnIp: LH, name: 'lh', tun: null, config: { lighthouse: { am_lighthouse: true } } });
  const n = await mesh.node({ vpnIp: N, name: 'n', peers: [LH], config: { lighthouse: { hosts: [LH], interval: 2 } } });
  const updates = (): number => n.node.counters.get('lighthouse', 'update-sent');
  await advanceUntil(clock, () => lh.tunnelTo(n), { what: 'the lighthouse tunnel' });
  const atStart = updates();
  await sleep(50); // real time alone moves nothing
  assert.equal(updates(), atStart);
  await advanceFor(clock, 10_000, 100);
  assert.equal(updates() - atStart, 5, 'one update per 2 s of the clock');

  await n.stop();
  await lh.stop();
  assert.equal(clock.pending, idle, `timers left armed after stop: ${clock.pending - idle}`);
  clock.advance(60_000);
  await settle();
  assert.equal(updates() - atStart, 5, 'nothing after stop');
});

test('the handshake ticker runs on the node clock while a handshake is pending and is gone once it gave up', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  // The peer's address is on the memory network, but nothing listens there: every stage 1 is lost.
  const a = await mesh.node({
    vpnIp: '10.99.0.10',
    peers: [N],
    config: { handshakes: { try_interval: '100ms', retries: 3 } },
  });
  // The ephemeral key made ahead is made REFILL_AFTER_MS after the start (and after each take): counted once made.
  await advanceFor(clock, REFILL_AFTER_MS);
  const armed = clock.pending;
  const stage1s = (): number => a.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Handshake, 0, 1)).length;
  a.tun.inject(udpPacket({ src: '10.99.0.10', dst: N, payload: 'lost' }));
  await settle();
  assert.equal(stage1s(), 1);
  // The ticker is added; the key's replacement timer (MAX_AGE_MS) gave way to the next key's making (stage 1 took
  // the one made ahead).
  assert.equal(clock.pending, armed + 1, 'the ticker is armed while the handshake is pending');
  await sleep(150); // more than the first retry's wait, in real time: no retry
  assert.equal(stage1s(), 1);
  await advanceUntil(clock, () => a.node.handshakes.pending.size === 0, { what: 'the handshake to give up' });
  assert.equal(stage1s(), 4, 'the first attempt and 3 retries');
  await advanceFor(clock, Math.max(100, REFILL_AFTER_MS));
  assert.equal(clock.pending, armed, 'the ticker stopped with the last pending handshake');
});
