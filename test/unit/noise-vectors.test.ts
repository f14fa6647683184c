// Published Noise IX vectors (cacophony, snow, flynn/noise; see test/fixtures/noise/README.md): our message
// bytes, handshake hash and transport ciphertexts (which pin the split keys and the nonce byte order) must
// match byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { x25519 } from '@noble/curves/ed25519.js';
import { IxInitiator, IxResponder, type SessionKeys } from '../../pkg/noise/ix.js';
import { PROTOCOL_NAME } from '../../pkg/noise/constants.js';
import type { AeadCipher } from '../../pkg/noise/aead.js';

interface Vector {
  source: string;
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const fixture = new URL('../../../test/fixtures/noise/ix-vectors.json', import.meta.url);
const vectors = (JSON.parse(readFileSync(fixture, 'utf8')) as { vectors: Vector[] }).vectors;

const hex = (s: string) => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function cipherOf(name: string): AeadCipher {
  if (name === PROTOCOL_NAME.aes) return 'aes';
  if (name === PROTOCOL_NAME.chachapoly) return 'chachapoly';
  throw new Error(`unexpected protocol ${name}`);
}

test('the fixture holds vectors for both ciphers, with and without a prologue', () => {
  const ciphers = new Set(vectors.map((v) => cipherOf(v.protocol_name)));
  assert.deepEqual([...ciphers].sort(), ['aes', 'chachapoly']);
  assert.ok(
    vectors.some((v) => v.init_prologue === ''),
    'an empty-prologue (Nebula-configured) vector',
  );
  assert.ok(
    vectors.some((v) => v.handshake_hash !== undefined),
    'a vector with a handshake hash',
  );
  assert.ok(
    vectors.some((v) => v.messages.length >= 6),
    'a vector that reaches transport nonce 1',
  );
});

vectors.forEach((v, index) => {
  const origin = v.source.includes('cacophony') ? 'cacophony' : v.source.includes('snow.txt') ? 'snow' : 'flynn/noise';
  const prologue = v.init_prologue === '' ? 'empty prologue' : 'with prologue';
  const label = `${v.protocol_name} vector ${index} (${origin}, ${prologue})`;

  test(`${label}: handshake messages, hash and transport messages match the vector`, () => {
    const cipher = cipherOf(v.protocol_name);
    const initiator = new IxInitiator({
      cipher,
      staticKey: hex(v.init_static),
      prologue: hex(v.init_prologue),
      ephemeralPrivate: hex(v.init_ephemeral),
    });
    const responder = new IxResponder({
      cipher,
      staticKey: hex(v.resp_static),
      prologue: hex(v.resp_prologue),
      ephemeralPrivate: hex(v.resp_ephemeral),
    });
    const [m1, m2, ...transport] = v.messages;

    const msg1 = initiator.writeMessage1(hex(m1.payload));
    assert.equal(toHex(msg1), m1.ciphertext, 'message 1 bytes');
    const hello = responder.readMessage1(msg1);
    assert.equal(toHex(hello.payload), m1.payload);
    assert.equal(toHex(hello.remoteStatic), toHex(x25519.getPublicKey(hex(v.init_static))));

    const reply = responder.writeMessage2(hex(m2.payload));
    assert.equal(toHex(reply.message), m2.ciphertext, 'message 2 bytes');
    const done = initiator.readMessage2(reply.message);
    assert.equal(toHex(done.payload), m2.payload);
    assert.equal(toHex(done.remoteStatic), toHex(x25519.getPublicKey(hex(v.resp_static))));

    assert.equal(toHex(done.handshakeHash), toHex(reply.handshakeHash), 'both sides agree on h');
    if (v.handshake_hash !== undefined) assert.equal(toHex(done.handshakeHash), v.handshake_hash, 'handshake hash');

    // Transport messages alternate initiator, responder, ...; each direction counts its nonce from 0.
    const sides: [SessionKeys, SessionKeys] = [done.keys, reply.keys];
    transport.forEach((m, i) => {
      const [sender, receiver] = i % 2 === 0 ? sides : [sides[1], sides[0]];
      const n = Math.floor(i / 2);
      const sealed = sender.send.seal(n, hex(m.payload), new Uint8Array(0));
      assert.equal(toHex(sealed), m.ciphertext, `transport message ${i} (nonce ${n})`);
      assert.equal(toHex(receiver.recv.open(n, sealed, new Uint8Array(0)) ?? Buffer.from('open failed')), m.payload);
    });
  });
});
