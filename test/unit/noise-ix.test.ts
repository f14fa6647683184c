import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { IxInitiator, IxResponder, type IxOptions } from '../../pkg/noise/ix.js';
import { HandshakeState } from '../../pkg/noise/handshake-state.js';
import { NoiseError, type NoiseErrorCode } from '../../pkg/noise/errors.js';
import type { Aead, AeadCipher } from '../../pkg/noise/aead.js';
import { encodeHeader, HEADER_LEN, MessageType } from '../../pkg/header/header.js';

const CIPHERS: AeadCipher[] = ['aes', 'chachapoly'];

function keyPair(): { staticPrivate: Uint8Array; staticPublic: Uint8Array } {
  const staticPrivate = x25519.utils.randomSecretKey();
  return { staticPrivate, staticPublic: x25519.getPublicKey(staticPrivate) };
}

function isNoiseError(code: NoiseErrorCode) {
  return (e: unknown) => e instanceof NoiseError && e.code === code;
}

function handshake(cipher: AeadCipher, initOpts: Partial<IxOptions> = {}, respOpts: Partial<IxOptions> = {}) {
  const alice = keyPair();
  const bob = keyPair();
  const initiator = new IxInitiator({ cipher, staticKey: alice.staticPrivate, ...initOpts });
  const responder = new IxResponder({ cipher, staticKey: bob.staticPrivate, ...respOpts });
  return { alice, bob, initiator, responder };
}

for (const cipher of CIPHERS) {
  test(`${cipher}: initiator and responder exchange payloads, learn each other's static key and derive matching keys`, () => {
    const { alice, bob, initiator, responder } = handshake(cipher);
    const msg1 = initiator.writeMessage1(Buffer.from('stage 1 details'));
    const hello = responder.readMessage1(msg1);
    assert.equal(Buffer.from(hello.payload).toString(), 'stage 1 details');
    assert.deepEqual(hello.remoteStatic, alice.staticPublic);

    const reply = responder.writeMessage2(Buffer.from('stage 2 details'));
    const done = initiator.readMessage2(reply.message);
    assert.equal(Buffer.from(done.payload).toString(), 'stage 2 details');
    assert.deepEqual(done.remoteStatic, bob.staticPublic);
    assert.deepEqual(done.handshakeHash, reply.handshakeHash);

    const ad = Buffer.alloc(16, 1);
    const toBob = done.keys.send.seal(3, Buffer.from('ping'), ad);
    assert.equal(reply.keys.recv.open(3, toBob, ad)?.toString(), 'ping');
    const toAlice = reply.keys.send.seal(3, Buffer.from('pong'), ad);
    assert.equal(done.keys.recv.open(3, toAlice, ad)?.toString(), 'pong');
    // The two directions use different keys: a packet cannot be reflected back to its sender.
    assert.equal(done.keys.recv.open(3, toBob, ad), null);
    assert.equal(reply.keys.recv.open(3, toAlice, ad), null);
  });

  test(`${cipher}: message 1 is e, then the static key in clear, then the payload in clear`, () => {
    const { alice, initiator } = handshake(cipher);
    const payload = randomBytes(150);
    const msg1 = initiator.writeMessage1(payload);
    assert.equal(msg1.length, 32 + 32 + 150);
    assert.deepEqual(msg1.subarray(32, 64), alice.staticPublic);
    assert.deepEqual(msg1.subarray(64), new Uint8Array(payload));
  });

  test(`${cipher}: message 2 is e, the encrypted static key with its tag, then the payload with its tag`, () => {
    const { bob, initiator, responder } = handshake(cipher);
    responder.readMessage1(initiator.writeMessage1(new Uint8Array(0)));
    const { message } = responder.writeMessage2(randomBytes(150));
    assert.equal(message.length, 32 + 48 + 150 + 16);
    assert.notDeepEqual(message.subarray(32, 64), bob.staticPublic);
  });

  test(`${cipher}: a tampered message 2 is rejected with ENOISEAUTH and the genuine one still completes`, () => {
    const { initiator, responder } = handshake(cipher);
    responder.readMessage1(initiator.writeMessage1(new Uint8Array(0)));
    const { message, keys } = responder.writeMessage2(Buffer.from('details'));
    for (const at of [0, 31, 32, 79, 80, message.length - 1]) {
      const forged = Uint8Array.from(message);
      forged[at] ^= 0x01;
      assert.throws(() => initiator.readMessage2(forged), isNoiseError('ENOISEAUTH'), `byte ${at} flipped`);
    }
    const done = initiator.readMessage2(message);
    assert.equal(Buffer.from(done.payload).toString(), 'details');
    const ad = new Uint8Array(16);
    assert.equal(keys.recv.open(3, done.keys.send.seal(3, Buffer.from('ok'), ad), ad)?.toString(), 'ok');
  });

  test(`${cipher}: truncated messages are rejected with ENOISESHORT`, () => {
    const { initiator, responder } = handshake(cipher);
    const msg1 = initiator.writeMessage1(new Uint8Array(0));
    assert.throws(() => responder.readMessage1(msg1.subarray(0, 63)), isNoiseError('ENOISESHORT'));
    responder.readMessage1(msg1);
    const { message } = responder.writeMessage2(new Uint8Array(0));
    assert.throws(() => initiator.readMessage2(message.subarray(0, 32 + 48 + 15)), isNoiseError('ENOISESHORT'));
    assert.throws(() => initiator.readMessage2(message.subarray(0, 40)), isNoiseError('ENOISESHORT'));
  });

  test(`${cipher}: a different prologue on one side fails at message 2`, () => {
    const { initiator, responder } = handshake(cipher, {}, { prologue: Buffer.from('not nebula') });
    responder.readMessage1(initiator.writeMessage1(new Uint8Array(0)));
    const { message } = responder.writeMessage2(new Uint8Array(0));
    assert.throws(() => initiator.readMessage2(message), isNoiseError('ENOISEAUTH'));
  });

  test(`${cipher}: a peer ephemeral key of low order is refused with ENOISEKEY`, () => {
    const { initiator, responder } = handshake(cipher);
    const msg1 = initiator.writeMessage1(new Uint8Array(0));
    const forged = Uint8Array.from(msg1);
    forged.fill(0, 0, 32);
    responder.readMessage1(forged);
    assert.throws(() => responder.writeMessage2(new Uint8Array(0)), isNoiseError('ENOISEKEY'));
  });
}

test('an AES initiator and a ChaCha responder fail at message 2, as mismatched Nebula nodes do', () => {
  const alice = keyPair();
  const bob = keyPair();
  const initiator = new IxInitiator({ cipher: 'aes', staticKey: alice.staticPrivate });
  const responder = new IxResponder({ cipher: 'chachapoly', staticKey: bob.staticPrivate });
  responder.readMessage1(initiator.writeMessage1(new Uint8Array(0)));
  const { message } = responder.writeMessage2(new Uint8Array(0));
  assert.throws(() => initiator.readMessage2(message), isNoiseError('ENOISEAUTH'));
});

test('calls out of order are refused with ENOISESTATE', () => {
  const { initiator, responder } = handshake('aes');
  assert.throws(() => initiator.readMessage2(new Uint8Array(200)), isNoiseError('ENOISESTATE'));
  assert.throws(() => responder.writeMessage2(new Uint8Array(0)), isNoiseError('ENOISESTATE'));
  const msg1 = initiator.writeMessage1(new Uint8Array(0));
  assert.throws(() => initiator.writeMessage1(new Uint8Array(0)), isNoiseError('ENOISESTATE'));
  responder.readMessage1(msg1);
  assert.throws(() => responder.readMessage1(msg1), isNoiseError('ENOISESTATE'));
  const { message } = responder.writeMessage2(new Uint8Array(0));
  initiator.readMessage2(message);
  assert.throws(() => initiator.readMessage2(message), isNoiseError('ENOISESTATE'));
});

test("a message 2 read on a fork leaves the initiator ready for another host's message 2 to the same message 1", () => {
  const { initiator } = handshake('aes');
  const msg1 = initiator.writeMessage1(new Uint8Array(0));
  // Message 1 went to two addresses and two hosts answer it: a wrong one first, then the right one.
  const wrong = new IxResponder({ cipher: 'aes', staticKey: keyPair().staticPrivate });
  const right = new IxResponder({ cipher: 'aes', staticKey: keyPair().staticPrivate });
  wrong.readMessage1(msg1);
  right.readMessage1(msg1);
  const fromWrong = wrong.writeMessage2(Buffer.from('wrong'));
  const fromRight = right.writeMessage2(Buffer.from('right'));

  const refused = initiator.fork().readMessage2(fromWrong.message);
  assert.equal(Buffer.from(refused.payload).toString(), 'wrong');
  const done = initiator.fork().readMessage2(fromRight.message);
  assert.equal(Buffer.from(done.payload).toString(), 'right');
  assert.deepEqual(done.handshakeHash, fromRight.handshakeHash);
  const ad = new Uint8Array(16);
  assert.equal(fromRight.keys.recv.open(3, done.keys.send.seal(3, Buffer.from('ok'), ad), ad)?.toString(), 'ok');
  assert.notDeepEqual(refused.handshakeHash, done.handshakeHash);
  // The forks read; the initiator itself is still at message 2, and reads it once.
  initiator.readMessage2(fromRight.message);
  assert.throws(() => initiator.readMessage2(fromRight.message), isNoiseError('ENOISESTATE'));
});

test('messages over 65535 bytes are neither written nor read', () => {
  const { initiator, responder } = handshake('aes');
  assert.throws(() => initiator.writeMessage1(new Uint8Array(65535 - 64 + 1)), isNoiseError('ENOISETOOLONG'));
  const msg1 = initiator.writeMessage1(new Uint8Array(65535 - 64));
  assert.equal(msg1.length, 65535);
  assert.throws(() => responder.readMessage1(new Uint8Array(65536)), isNoiseError('ENOISETOOLONG'));
  responder.readMessage1(msg1);
});

test('a fresh ephemeral key is drawn for every handshake', () => {
  const a = handshake('aes').initiator.writeMessage1(new Uint8Array(0));
  const b = handshake('aes').initiator.writeMessage1(new Uint8Array(0));
  assert.notDeepEqual(a.subarray(0, 32), b.subarray(0, 32));
});

// Nebula-like flow: the handshake rides after a 16-byte header that is not part of the transcript, then data
// packets are header ‖ AEAD(k, nonce(counter), plaintext, ad = header) with the first counter 3. The raw split
// keys come from a second, identical handshake run on the internal HandshakeState, and packets are opened
// with node:crypto and a nonce built here, so the test does not trust our own nonce code.

/** 4 zero bytes ‖ counter as uint64, in the given byte order. */
function nonceBytes(counter: number, order: 'big' | 'little'): Buffer {
  const n = Buffer.alloc(12);
  if (order === 'big') n.writeBigUInt64BE(BigInt(counter), 4);
  else n.writeBigUInt64LE(BigInt(counter), 4);
  return n;
}

/** Opens header ‖ ciphertext ‖ tag with node:crypto; null when it does not authenticate. */
function openRaw(cipher: AeadCipher, key: Uint8Array, nonce: Buffer, packet: Buffer): string | null {
  const algorithm = cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305';
  const d = createDecipheriv(algorithm as 'aes-256-gcm', key, nonce, { authTagLength: 16 });
  d.setAAD(packet.subarray(0, HEADER_LEN));
  d.setAuthTag(packet.subarray(packet.length - 16));
  const pt = d.update(packet.subarray(HEADER_LEN, packet.length - 16));
  try {
    d.final();
  } catch {
    return null;
  }
  return pt.toString();
}

function dataPacket(send: Aead, remoteIndex: number, counter: number, text: string): Buffer {
  const header = Buffer.alloc(HEADER_LEN);
  encodeHeader(header, 0, MessageType.Message, 0, remoteIndex, counter);
  return Buffer.concat([header, send.seal(counter, Buffer.from(text), header)]);
}

for (const cipher of CIPHERS) {
  const order = cipher === 'aes' ? 'big' : 'little';
  const otherOrder = cipher === 'aes' ? 'little' : 'big';

  test(`${cipher}: data packets after a Nebula-style handshake travel under k1 / k2 with a ${order}-endian nonce`, () => {
    const alice = keyPair();
    const bob = keyPair();
    const aliceE = x25519.utils.randomSecretKey();
    const bobE = x25519.utils.randomSecretKey();

    const initiator = new IxInitiator({ cipher, staticKey: alice.staticPrivate, ephemeralPrivate: aliceE });
    const responder = new IxResponder({ cipher, staticKey: bob.staticPrivate, ephemeralPrivate: bobE });
    const stage1 = Buffer.alloc(HEADER_LEN);
    encodeHeader(stage1, 0, MessageType.Handshake, 0, 0, 1);
    const packet1 = Buffer.concat([stage1, initiator.writeMessage1(Buffer.from('cert A'))]);
    responder.readMessage1(packet1.subarray(HEADER_LEN));
    const reply = responder.writeMessage2(Buffer.from('cert B'));
    const done = initiator.readMessage2(reply.message);

    const hsI = new HandshakeState({ cipher, initiator: true, s: alice.staticPrivate, e: aliceE });
    const hsR = new HandshakeState({ cipher, initiator: false, s: bob.staticPrivate, e: bobE });
    hsR.readMessage(hsI.writeMessage(Buffer.from('cert A')));
    hsI.readMessage(hsR.writeMessage(Buffer.from('cert B')));
    const [k1, k2] = hsI.split();
    assert.deepEqual(hsR.split(), [k1, k2]);

    // Initiator to responder travels under k1, responder to initiator under k2 (docs/wire-format.md, "Handshake").
    for (const counter of [3, 4, 0x0102030405]) {
      const fromInitiator = dataPacket(done.keys.send, 0x1111, counter, `a${counter}`);
      const fromResponder = dataPacket(reply.keys.send, 0x2222, counter, `b${counter}`);
      assert.equal(openRaw(cipher, k1, nonceBytes(counter, order), fromInitiator), `a${counter}`);
      assert.equal(openRaw(cipher, k2, nonceBytes(counter, order), fromResponder), `b${counter}`);
      // The other byte order does not open it, so this test really tells the two apart.
      assert.equal(openRaw(cipher, k1, nonceBytes(counter, otherOrder), fromInitiator), null);
    }
  });
}
