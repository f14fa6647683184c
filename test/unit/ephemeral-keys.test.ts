import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { HEADER_LEN } from '../../pkg/header/header.js';
import { EphemeralKeys, MAX_AGE_MS, REFILL_AFTER_MS } from '../../pkg/noise/ephemeral-keys.js';
import { IxInitiator, IxResponder } from '../../pkg/noise/ix.js';
import { generateX25519Secret, type X25519Secret } from '../../pkg/noise/x25519.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { testPki } from './helpers/pki.js';
import { advanceFor } from './helpers/wait.js';

// A node's next handshake message takes an ephemeral key made ahead (pkg/noise/ephemeral-keys.ts): handed out once,
// made again REFILL_AFTER_MS later, replaced once MAX_AGE_MS old, forgotten at a reload and at stop, and made on the
// spot when none is ready.

/** An EphemeralKeys on a manual clock whose keys are counted. */
function keysOn(clock: ManualClock): { keys: EphemeralKeys; made: X25519Secret[] } {
  const made: X25519Secret[] = [];
  const keys = new EphemeralKeys(clock, () => {
    const k = generateX25519Secret();
    made.push(k);
    return k;
  });
  return { keys, made };
}

test('a key made ahead is handed out once; the next is made REFILL_AFTER_MS after a take, or on the spot', () => {
  const clock = new ManualClock();
  const { keys, made } = keysOn(clock);
  assert.equal(keys.readyPublicKey, null, 'none made at construction');
  clock.advance(REFILL_AFTER_MS);
  assert.equal(made.length, 1);
  assert.deepEqual(keys.readyPublicKey, made[0].publicKey);
  const first = keys.take();
  assert.equal(first, made[0], 'the key made ahead');
  assert.equal(keys.readyPublicKey, null, 'forgotten once taken');
  const second = keys.take();
  assert.notEqual(second, first, 'never handed out twice');
  assert.equal(made.length, 2, 'made on the spot');
  clock.advance(REFILL_AFTER_MS - 1);
  assert.equal(made.length, 2, 'not before REFILL_AFTER_MS');
  clock.advance(1);
  assert.equal(made.length, 3, 'one refill for both takes');
  assert.equal(keys.take(), made[2]);
  const all = new Set(made.map((k) => Buffer.from(k.publicKey).toString('hex')));
  assert.equal(all.size, made.length, 'every key distinct');
});

test('a key made ahead is replaced once MAX_AGE_MS old: after that, take() never returns it', () => {
  const clock = new ManualClock();
  const { keys, made } = keysOn(clock);
  clock.advance(REFILL_AFTER_MS);
  const old = made[0];
  clock.advance(MAX_AGE_MS - 1);
  assert.deepEqual(keys.readyPublicKey, old.publicKey, 'kept until MAX_AGE_MS');
  clock.advance(1);
  assert.equal(made.length, 2, 'a fresh one made in its place (the lever stays for a contact after a long idle)');
  assert.notDeepEqual(keys.readyPublicKey, old.publicKey);
  clock.advance(MAX_AGE_MS * 3);
  assert.equal(made.length, 5, 'one replacement per MAX_AGE_MS while idle, no more');
  const taken = keys.take();
  assert.equal(taken, made[4], 'the newest');
  assert.ok(!made.slice(0, 4).includes(taken));
  assert.equal(clock.pending, 1, 'the replacement timer gave way to the one refill');
  keys.stop();
  assert.equal(clock.pending, 0, 'nothing armed after stop');
});

test('take() refuses a key older than MAX_AGE_MS even when its replacement timer has not run (a late timer)', () => {
  let now = 0;
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const lateClock = {
    now: () => now,
    after: (ms: number, fn: () => void) => {
      const timer = { at: now + ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
  };
  const made: X25519Secret[] = [];
  const keys = new EphemeralKeys(lateClock, () => {
    const k = generateX25519Secret();
    made.push(k);
    return k;
  });
  now = REFILL_AFTER_MS;
  timers[0].fn(); // the refill runs; its replacement timer (timers[1]) never does
  assert.equal(made.length, 1);
  assert.equal(timers.length, 2);
  now += MAX_AGE_MS;
  const taken = keys.take();
  assert.notEqual(taken, made[0], 'the aged key is not handed out');
  assert.equal(made.length, 2, 'made on the spot instead');
  assert.equal(keys.readyPublicKey, null, 'and the aged one forgotten');
  assert.ok(timers[1].cancelled, 'its replacement timer cancelled');
});

test('drop (a reload) forgets the key made ahead and makes another later; stop makes none ahead again', () => {
  const clock = new ManualClock();
  const { keys, made } = keysOn(clock);
  clock.advance(REFILL_AFTER_MS);
  keys.drop();
  assert.equal(keys.readyPublicKey, null);
  const taken = keys.take();
  assert.notEqual(taken, made[0], 'the dropped key is never handed out');
  clock.advance(REFILL_AFTER_MS);
  assert.equal(keys.readyPublicKey, made[2].publicKey);
  keys.stop();
  assert.equal(keys.readyPublicKey, null, 'forgotten at stop');
  assert.equal(clock.pending, 0, 'no refill armed after stop');
  const late = keys.take();
  assert.ok(!made.slice(0, 3).includes(late), 'after stop a take still gets a fresh key');
  clock.advance(REFILL_AFTER_MS * 3);
  assert.equal(keys.readyPublicKey, null, 'and none is made ahead');
});

test('both sides of a handshake take their ephemeral key from the source, and one completes with none ready', () => {
  const clock = new ManualClock();
  const { keys, made } = keysOn(clock);
  const run = (): { e1: Uint8Array; e2: Uint8Array } => {
    const initiator = new IxInitiator({ cipher: 'aes', staticKey: randomBytes(32), ephemeralKeys: keys });
    const responder = new IxResponder({ cipher: 'aes', staticKey: randomBytes(32), ephemeralKeys: keys });
    const m1 = initiator.writeMessage1(new Uint8Array([1]));
    responder.readMessage1(m1);
    const m2 = responder.writeMessage2(new Uint8Array([2]));
    const r = initiator.readMessage2(m2.message);
    assert.deepEqual(r.payload, new Uint8Array([2]));
    const sealed = Buffer.alloc(HEADER_LEN + 5 + 16);
    r.keys.send.seal(1, new Uint8Array([9, 8, 7, 6, 5]), sealed.subarray(0, HEADER_LEN), sealed, HEADER_LEN);
    const opened = m2.keys.recv.open(1, sealed.subarray(HEADER_LEN), sealed.subarray(0, HEADER_LEN));
    assert.deepEqual(opened === null ? null : Uint8Array.from(opened), new Uint8Array([9, 8, 7, 6, 5]));
    return { e1: m1.subarray(0, 32), e2: m2.message.subarray(0, 32) };
  };
  const cold = run();
  assert.equal(made.length, 2, 'none ready: both made on the spot, through the source');
  clock.advance(REFILL_AFTER_MS);
  const ahead = keys.readyPublicKey;
  const warm = run();
  assert.deepEqual(warm.e1, ahead, 'stage 1 carries the key made ahead');
  assert.notDeepEqual(warm.e2, warm.e1, 'stage 2 gets another');
  for (const e of [cold.e1, cold.e2, warm.e2]) assert.notDeepEqual(e, warm.e1);
});

function stageE(n: TestNode, counter: number): Uint8Array | undefined {
  const sent = n.memUdp!.sent.find((s) => s.packet[0] === 0x10 && s.packet[15] === counter);
  return sent?.packet.subarray(HEADER_LEN, HEADER_LEN + 32);
}

test("a node's first contact sends the keys made ahead; a reload and stop forget a node's key", async (t) => {
  const clock = new ManualClock();
  const mesh = new TestMesh(t, { clock });
  const a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'] });
  await advanceFor(clock, REFILL_AFTER_MS);
  const aheadA = a.node.handshakes.ephemeralKeys.readyPublicKey;
  const aheadB = b.node.handshakes.ephemeralKeys.readyPublicKey;
  assert.ok(aheadA !== null && aheadB !== null, 'each node made one ahead');
  await connect(a, b);
  assert.deepEqual(stageE(a, 1), aheadA, "a's stage 1");
  assert.deepEqual(stageE(b, 2), aheadB, "b's stage 2");
  await advanceFor(clock, REFILL_AFTER_MS);
  const next = a.node.handshakes.ephemeralKeys.readyPublicKey;
  assert.ok(next !== null && !Buffer.from(next).equals(aheadA), 'a made another after the contact');
  a.node.applyReload({
    config: a.node.currentConfig(),
    pki: testPki(a.cert, [mesh.ca], []),
    rules: a.node.firewall().currentRules,
    staticHosts: new Map(),
  });
  assert.equal(a.node.handshakes.ephemeralKeys.readyPublicKey, null, 'a reload forgets it');
  await advanceFor(clock, REFILL_AFTER_MS);
  assert.notEqual(a.node.handshakes.ephemeralKeys.readyPublicKey, null, 'and one is made later');
  await a.stop();
  assert.equal(a.node.handshakes.ephemeralKeys.readyPublicKey, null, 'stop forgets it');
});
