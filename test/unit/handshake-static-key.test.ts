import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { x25519 } from '@noble/curves/ed25519.js';

import { localIdentity, staticKeyOf } from '../../pkg/handshake/identity.js';
import { IxInitiator, IxResponder } from '../../pkg/noise/ix.js';
import { importX25519Secret } from '../../pkg/noise/x25519.js';
import { makeHostCert, makeTestCa } from './helpers/pki.js';

// A daemon's handshakes take its static key from its identity, imported once (staticKeyOf), instead of through the
// import cache that hashes the private key on every handshake.

function keyPair(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = Uint8Array.from(randomBytes(32));
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

test("staticKeyOf imports an identity's key once, and a new identity (a reload) again", () => {
  const ca = makeTestCa();
  const host = makeHostCert(ca, { ip: '10.99.0.1/24' });
  const id = localIdentity(host.cert, host.privateKey);
  const key = staticKeyOf(id);
  assert.equal(staticKeyOf(id), key, 'the same import for the same identity');
  assert.deepEqual(key.publicKey, host.cert.details.publicKey, "the certificate's key");
  const reloaded = localIdentity(host.cert, host.privateKey);
  assert.notEqual(staticKeyOf(reloaded), key);
});

test('a responder makes its handshake with the one static key it is given, imported or raw (noble as the oracle)', () => {
  const ini = keyPair();
  const res = keyPair();
  const run = (key: ReturnType<typeof importX25519Secret> | Uint8Array): Uint8Array => {
    const initiator = new IxInitiator({ cipher: 'aes', staticKey: ini.privateKey });
    const responder = new IxResponder({ cipher: 'aes', staticKey: key });
    responder.readMessage1(initiator.writeMessage1(new Uint8Array(0)));
    const hello = initiator.readMessage2(responder.writeMessage2(new Uint8Array([7])).message);
    assert.deepEqual(hello.payload, new Uint8Array([7]));
    return hello.remoteStatic;
  };
  assert.deepEqual(run(importX25519Secret(res.privateKey)), res.publicKey);
  assert.deepEqual(run(res.privateKey), res.publicKey, 'the raw key, imported here');
  // The key is given once (review F14: a separate public key could disagree with it): the public key presented is
  // the import's, and the DHs use the same key, or the initiator could not open stage 2.
  const other = keyPair();
  assert.deepEqual(run(importX25519Secret(other.privateKey)), other.publicKey);
});
