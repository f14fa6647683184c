import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { createAead, AeadClosedError, AeadKeyError, AEAD_TAG_LEN, type AeadCipher } from '../../pkg/noise/aead.js';

const CIPHERS: AeadCipher[] = ['aes', 'chachapoly'];
const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const header = Buffer.from('11000000000000070000000000000003', 'hex');

/** Seals with node:crypto directly, with the nonce bytes spelled out by the caller. */
function referenceSeal(cipher: AeadCipher, nonceHex: string, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  const algorithm = cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305';
  const c = createCipheriv(algorithm as 'aes-256-gcm', key, Buffer.from(nonceHex, 'hex'), { authTagLength: 16 });
  c.setAAD(ad);
  const body = c.update(plaintext);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

test('AES-GCM puts the counter in the nonce big-endian after four zero bytes', () => {
  const pt = Buffer.from('hello');
  const sealed = createAead('aes', key).seal(0x0a0b0c0d0e0f, pt, header);
  assert.deepEqual(sealed, referenceSeal('aes', '00000000' + '00000a0b0c0d0e0f', pt, header));
});

test('ChaCha20-Poly1305 puts the counter in the nonce little-endian after four zero bytes', () => {
  const pt = Buffer.from('hello');
  const sealed = createAead('chachapoly', key).seal(0x0a0b0c0d0e0f, pt, header);
  assert.deepEqual(sealed, referenceSeal('chachapoly', '00000000' + '0f0e0d0c0b0a0000', pt, header));
});

test('the first data packet (counter 3) uses nonce ...03 for AES and 03... for ChaCha', () => {
  const pt = randomBytes(100);
  assert.deepEqual(
    createAead('aes', key).seal(3, pt, header),
    referenceSeal('aes', '000000000000000000000003', pt, header),
  );
  assert.deepEqual(
    createAead('chachapoly', key).seal(3, pt, header),
    referenceSeal('chachapoly', '000000000300000000000000', pt, header),
  );
});

for (const cipher of CIPHERS) {
  test(`${cipher}: seal gives ciphertext plus a 16-byte tag and open returns the plaintext`, () => {
    const aead = createAead(cipher, key);
    const pt = randomBytes(1300);
    const sealed = aead.seal(42, pt, header);
    assert.equal(sealed.length, pt.length + AEAD_TAG_LEN);
    assert.deepEqual(aead.open(42, sealed, header), pt);
  });

  test(`${cipher}: an empty plaintext seals to the tag alone (closeTunnel is 16 + 16 bytes)`, () => {
    const aead = createAead(cipher, key);
    const sealed = aead.seal(9, new Uint8Array(0), header);
    assert.equal(sealed.length, AEAD_TAG_LEN);
    assert.deepEqual(aead.open(9, sealed, header), Buffer.alloc(0));
  });

  test(`${cipher}: open refuses a wrong counter, a wrong header, and any flipped bit`, () => {
    const aead = createAead(cipher, key);
    const pt = randomBytes(64);
    const sealed = aead.seal(1000, pt, header);
    const stackTraceLimit = Error.stackTraceLimit;
    assert.equal(aead.open(1001, sealed, header), null);
    const otherHeader = Buffer.from(header);
    otherHeader[7] ^= 1;
    assert.equal(aead.open(1000, sealed, otherHeader), null);
    for (const at of [0, 31, sealed.length - AEAD_TAG_LEN, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] ^= 0x80;
      assert.equal(aead.open(1000, bad, header), null, `flipped byte ${at}`);
    }
    assert.deepEqual(aead.open(1000, sealed, header), pt, 'the untouched packet still opens');
    assert.equal(Error.stackTraceLimit, stackTraceLimit, 'the stack trace limit is restored after a failed open');
  });

  test(`${cipher}: open returns null, never throws, on input shorter than a tag`, () => {
    const aead = createAead(cipher, key);
    for (const len of [0, 1, 15]) assert.equal(aead.open(3, new Uint8Array(len), header), null);
    assert.equal(aead.open(3, new Uint8Array(16), header), null, 'a zero tag over nothing');
  });

  test(`${cipher}: a different key cannot open the packet`, () => {
    const sealed = createAead(cipher, key).seal(5, Buffer.from('x'), header);
    assert.equal(createAead(cipher, randomBytes(32)).open(5, sealed, header), null);
  });

  test(`${cipher}: seal can write into a caller buffer at an offset and returns that view`, () => {
    const aead = createAead(cipher, key);
    const pt = randomBytes(200);
    const out = Buffer.alloc(16 + 200 + 16 + 8, 0xee);
    header.copy(out, 0);
    const view = aead.seal(77, pt, header, out, 16);
    assert.equal(view.buffer, out.buffer);
    assert.equal(view.byteOffset, out.byteOffset + 16);
    assert.deepEqual(view, aead.seal(77, pt, header));
    assert.deepEqual(out.subarray(0, 16), header, 'bytes before the offset untouched');
    assert.deepEqual(out.subarray(16 + 216), Buffer.alloc(8, 0xee), 'bytes after the output untouched');
    assert.deepEqual(aead.open(77, out.subarray(16, 16 + 216), out.subarray(0, 16)), pt);
  });

  test(`${cipher}: open reads views into a larger receive buffer`, () => {
    const aead = createAead(cipher, key);
    const pt = randomBytes(50);
    const packet = Buffer.concat([Buffer.alloc(3), header, aead.seal(8, pt, header), Buffer.alloc(5)]);
    const view = new Uint8Array(packet.buffer, packet.byteOffset + 3, 16 + 50 + 16);
    assert.deepEqual(aead.open(8, view.subarray(16), view.subarray(0, 16)), pt);
  });

  test(`${cipher}: a relay tag authenticates header and inner packet as AD over an empty plaintext`, () => {
    const aead = createAead(cipher, key);
    const ad = Buffer.concat([Buffer.from('11010000000000090000000000000004', 'hex'), randomBytes(231)]);
    const tag = aead.seal(4, new Uint8Array(0), ad);
    assert.equal(tag.length, AEAD_TAG_LEN);
    assert.deepEqual(aead.open(4, tag, ad), Buffer.alloc(0));
    ad[100] ^= 1;
    assert.equal(aead.open(4, tag, ad), null, 'a changed inner byte is detected');
  });

  test(`${cipher}: wiping the caller's key after createAead does not affect the AEAD`, () => {
    const k = Buffer.from(key);
    const aead = createAead(cipher, k);
    k.fill(0);
    assert.deepEqual(
      aead.seal(3, Buffer.from('abc'), header),
      createAead(cipher, key).seal(3, Buffer.from('abc'), header),
    );
  });
}

test('createAead rejects a key that is not 32 bytes and an unknown cipher', () => {
  assert.throws(
    () => createAead('aes', new Uint8Array(16)),
    (e: unknown) => e instanceof AeadKeyError && e.code === 'EAEADKEY',
  );
  assert.throws(() => createAead('rot13' as AeadCipher, key), AeadKeyError);
});

test('a closed node:crypto key seals nothing and opens nothing (its key bytes are zeroes now, which anyone could use)', () => {
  for (const cipher of ['aes', 'chachapoly'] as const) {
    const key = randomBytes(32);
    const aead = createAead(cipher, key);
    const ad = Buffer.alloc(16, 1);
    const sealed = Buffer.from(aead.seal(5, Buffer.from('before close'), ad));
    aead.close();
    assert.throws(() => aead.seal(6, Buffer.from('after close'), ad), AeadClosedError, cipher);
    assert.equal(aead.open(5, sealed, ad), null, `${cipher}: a packet sealed before the close`);
    // What an attacker can make once the key is zeroes: sealed with an all-zero key.
    const forged = Buffer.from(createAead(cipher, Buffer.alloc(32)).seal(7, Buffer.from('forged'), ad));
    assert.equal(aead.open(7, forged, ad), null, `${cipher}: a packet sealed with the zeroed key`);
  }
});
