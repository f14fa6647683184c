import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, type KeyObject } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';

import { ed25519 as nobleEd25519, x25519 as nobleX25519 } from '@noble/curves/ed25519.js';

import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../pkg/cert/ed25519.js';
import {
  generateX25519Secret,
  importedSecrets,
  importX25519Secret,
  staticSecret,
  x25519SharedSecret,
} from '../../pkg/noise/x25519.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 7748 section 6.1.
const ALICE_PRIV = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUB = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_PRIV = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUB = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

test('X25519 gives the RFC 7748 public keys and shared secret', () => {
  const alice = importX25519Secret(ALICE_PRIV);
  const bob = importX25519Secret(BOB_PRIV);
  assert.equal(toHex(alice.publicKey), ALICE_PUB);
  assert.equal(toHex(bob.publicKey), BOB_PUB);
  assert.equal(toHex(x25519SharedSecret(alice, bob.publicKey)), SHARED);
  assert.equal(toHex(x25519SharedSecret(bob, alice.publicKey)), SHARED);
});

test('X25519 agrees with @noble/curves on random and unclamped keys', () => {
  for (let i = 0; i < 20; i++) {
    const priv = Uint8Array.from(randomBytes(32));
    priv[0] |= 7; // unclamped, as nebula-cert stores them
    priv[31] |= 0xc0;
    const peer = generateX25519Secret();
    assert.equal(toHex(importX25519Secret(priv).publicKey), toHex(nobleX25519.getPublicKey(priv)));
    assert.equal(
      toHex(x25519SharedSecret(importX25519Secret(priv), peer.publicKey)),
      toHex(nobleX25519.getSharedSecret(priv, peer.publicKey)),
    );
  }
});

test('a fresh X25519 key pair has the public key of its private key, and comes from no key-generation job', () => {
  // Node 20 can deadlock when a key made by generateKeyPairSync is exported while a garbage collection finalizes
  // the job that made it (see generateX25519Secret); the pair is an imported random key, so it is never made by one.
  const cjsCrypto = createRequire(import.meta.url)('node:crypto') as {
    generateKeyPairSync: unknown;
    generateKeyPair: unknown;
  };
  const originals = [cjsCrypto.generateKeyPairSync, cjsCrypto.generateKeyPair];
  const used: string[] = [];
  cjsCrypto.generateKeyPairSync = () => used.push('generateKeyPairSync');
  cjsCrypto.generateKeyPair = () => used.push('generateKeyPair');
  syncBuiltinESMExports();
  let a, b;
  try {
    a = generateX25519Secret();
    b = generateX25519Secret();
  } finally {
    [cjsCrypto.generateKeyPairSync, cjsCrypto.generateKeyPair] = originals;
    syncBuiltinESMExports();
  }
  assert.deepEqual(used, []);
  assert.equal(a.publicKey.length, 32);
  assert.notEqual(toHex(a.publicKey), toHex(b.publicKey));
  // Each side's DH with the other's public key agrees only if each public key belongs to its private key.
  assert.equal(toHex(x25519SharedSecret(a, b.publicKey)), toHex(x25519SharedSecret(b, a.publicKey)));
  const c = generateX25519Secret();
  assert.equal(toHex(x25519SharedSecret(a, c.publicKey)), toHex(x25519SharedSecret(c, a.publicKey)));
});

test('a peer key is imported once per array: the same array in two DHs gives the secrets of its bytes', () => {
  const me = generateX25519Secret();
  const peer = generateX25519Secret();
  const other = generateX25519Secret();
  const view = Uint8Array.from(peer.publicKey);
  const first = toHex(x25519SharedSecret(me, view));
  assert.equal(toHex(x25519SharedSecret(me, view)), first);
  assert.equal(first, toHex(x25519SharedSecret(peer, me.publicKey)));
  // Another array with other bytes is another key, not the cached one.
  assert.equal(
    toHex(x25519SharedSecret(me, Uint8Array.from(other.publicKey))),
    toHex(x25519SharedSecret(other, me.publicKey)),
  );
});

test('X25519 refuses low-order and wrongly sized peer keys with ENOISEKEY', () => {
  const me = generateX25519Secret();
  for (const bad of [
    new Uint8Array(32),
    hex('0100000000000000000000000000000000000000000000000000000000000000'),
    new Uint8Array(31),
  ]) {
    assert.throws(() => x25519SharedSecret(me, bad), { code: 'ENOISEKEY' });
  }
  assert.throws(() => importX25519Secret(new Uint8Array(33)), { code: 'ENOISEKEY' });
});

test('a static key is imported once and reused while its bytes are kept', () => {
  const priv = Uint8Array.from(randomBytes(32));
  assert.equal(staticSecret(priv), staticSecret(priv));
  assert.notEqual(staticSecret(priv), staticSecret(Uint8Array.from(priv)));
});

/** Whether `key`'s bytes appear anywhere in `bytes`. */
function holds(bytes: Uint8Array, key: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(key) !== -1;
}

test("staticSecret's cache keeps no copy of a private key, only something to tell a change by", () => {
  // No second copy of a private key is kept (docs/security-model.md): a wiped key is gone, not left in the cache.
  // Through staticSecret itself, so the test guards the cache it uses; entries read through the private WeakMap.
  const entries = (importedSecrets as unknown as { entries: WeakMap<Uint8Array, { seen: Uint8Array }> }).entries;
  const priv = Uint8Array.from(ALICE_PRIV);
  assert.equal(toHex(staticSecret(priv).publicKey), ALICE_PUB);
  const entry = entries.get(priv);
  assert.ok(entry !== undefined, 'the import is cached');
  assert.ok(!holds(entry.seen, ALICE_PRIV), 'the entry holds a copy of the private key');
  // Still tells a change: the same array with other bytes is imported again.
  priv.set(BOB_PRIV);
  assert.equal(toHex(staticSecret(priv).publicKey), BOB_PUB);
  const again = entries.get(priv);
  assert.ok(again !== undefined && !holds(again.seen, BOB_PRIV), 'the new entry holds a copy of the private key');
});

// RFC 8032 section 7.1, TEST 2 (one-byte message).
const ED_SEED = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
const ED_PUB = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const ED_SIG =
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';

test('Ed25519 gives the RFC 8032 public key and signature, and verifies it', () => {
  assert.equal(toHex(ed25519PublicKey(ED_SEED)), ED_PUB);
  const sig = ed25519Sign(hex('72'), ED_SEED);
  assert.equal(toHex(sig), ED_SIG);
  assert.equal(ed25519Verify(sig, hex('72'), hex(ED_PUB)), true);
});

test('Ed25519 signatures match @noble/curves and each verifies the other', () => {
  for (let i = 0; i < 10; i++) {
    const seed = Uint8Array.from(randomBytes(32));
    const msg = Uint8Array.from(randomBytes(1 + i * 37));
    const ours = ed25519Sign(msg, seed);
    assert.equal(toHex(ours), toHex(nobleEd25519.sign(msg, seed)));
    assert.equal(nobleEd25519.verify(ours, msg, ed25519PublicKey(seed)), true);
  }
});

test('Ed25519 verification refuses tampered, non-canonical and malformed input without throwing', () => {
  const msg = hex('72');
  const sig = hex(ED_SIG);
  const flipped = Uint8Array.from(sig);
  flipped[5] ^= 1;
  assert.equal(ed25519Verify(flipped, msg, hex(ED_PUB)), false);
  assert.equal(ed25519Verify(sig, hex('73'), hex(ED_PUB)), false);
  // S + L: the same signature with a non-canonical scalar (malleability), which RFC 8032 verification refuses.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]);
  s += L;
  const malleated = Uint8Array.from(sig);
  for (let i = 32; i < 64; i++) malleated[i] = Number((s >> BigInt(8 * (i - 32))) & 0xffn);
  assert.equal(ed25519Verify(malleated, msg, hex(ED_PUB)), false);
  assert.equal(ed25519Verify(sig.subarray(1), msg, hex(ED_PUB)), false);
  assert.equal(ed25519Verify(sig, msg, new Uint8Array(31)), false);
  assert.equal(ed25519Verify(sig, msg, new Uint8Array(32).fill(0xff)), false);
});

test('an Ed25519 key is imported once per array: each of two kept keys verifies only its own signatures', () => {
  const [seedA, seedB] = [Uint8Array.from(randomBytes(32)), Uint8Array.from(randomBytes(32))];
  const [keyA, keyB] = [ed25519PublicKey(seedA), ed25519PublicKey(seedB)];
  const msg = Uint8Array.from(randomBytes(120));
  const [sigA, sigB] = [ed25519Sign(msg, seedA), ed25519Sign(msg, seedB)];
  // Several rounds on the same arrays, interleaved, as a CA pool verifies with its CAs' keys.
  for (let round = 0; round < 3; round++) {
    assert.equal(ed25519Verify(sigA, msg, keyA), true);
    assert.equal(ed25519Verify(sigB, msg, keyA), false);
    assert.equal(ed25519Verify(sigB, msg, keyB), true);
    assert.equal(ed25519Verify(sigA, msg, keyB), false);
  }
  // Another array with A's bytes is A's key too.
  assert.equal(ed25519Verify(sigA, msg, Uint8Array.from(keyA)), true);
  assert.equal(ed25519Verify(sigB, msg, Uint8Array.from(keyA)), false);
});

test('a kept array whose bytes change is imported again: Ed25519 verifies with the key it now holds', () => {
  const [seedA, seedB] = [Uint8Array.from(randomBytes(32)), Uint8Array.from(randomBytes(32))];
  const msg = Uint8Array.from(randomBytes(64));
  const [sigA, sigB] = [ed25519Sign(msg, seedA), ed25519Sign(msg, seedB)];
  const scratch = Uint8Array.from(ed25519PublicKey(seedA));
  assert.equal(ed25519Verify(sigA, msg, scratch), true);
  scratch.set(ed25519PublicKey(seedB)); // a reused buffer: same array, B's bytes
  assert.equal(ed25519Verify(sigB, msg, scratch), true);
  assert.equal(ed25519Verify(sigA, msg, scratch), false);
  scratch[0] ^= 1; // one byte is enough
  assert.equal(ed25519Verify(sigB, msg, scratch), false);
});

test('a kept array whose bytes change is imported again: X25519 peer and static keys', () => {
  const me = generateX25519Secret();
  const [peerA, peerB] = [generateX25519Secret(), generateX25519Secret()];
  const peer = Uint8Array.from(peerA.publicKey);
  assert.equal(toHex(x25519SharedSecret(me, peer)), toHex(x25519SharedSecret(peerA, me.publicKey)));
  peer.set(peerB.publicKey);
  assert.equal(toHex(x25519SharedSecret(me, peer)), toHex(x25519SharedSecret(peerB, me.publicKey)));

  const [privA, privB] = [Uint8Array.from(randomBytes(32)), Uint8Array.from(randomBytes(32))];
  const priv = Uint8Array.from(privA);
  assert.equal(toHex(staticSecret(priv).publicKey), toHex(nobleX25519.getPublicKey(privA)));
  priv.set(privB);
  assert.equal(toHex(staticSecret(priv).publicKey), toHex(nobleX25519.getPublicKey(privB)));
  assert.equal(staticSecret(priv), staticSecret(priv)); // and cached again for the new bytes
});

test("an X25519 key's public half is read without exporting its private half", () => {
  // A private JWK export puts `d` in the heap as a string nothing can wipe (docs/security-model.md).
  const privateProto = Object.getPrototypeOf(importX25519Secret(ALICE_PRIV).key) as {
    export: (this: KeyObject, options?: unknown) => unknown;
  };
  const original = privateProto.export;
  const exported: string[] = [];
  privateProto.export = function (this: KeyObject, options?: unknown) {
    exported.push(this.type);
    return original.call(this, options);
  };
  try {
    assert.equal(toHex(importX25519Secret(ALICE_PRIV).publicKey), ALICE_PUB);
    generateX25519Secret();
    staticSecret(Uint8Array.from(randomBytes(32)));
  } finally {
    privateProto.export = original;
  }
  assert.deepEqual(
    exported.filter((t) => t === 'private'),
    [],
  );
});
