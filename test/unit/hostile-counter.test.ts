// Header counters no honest sender reaches (2^53 and up, up to 2^64-1): the header parser refuses them, the AEAD
// never throws on them, and a datagram carrying one is dropped by the outside pipeline with its own reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  HEADER_LEN,
  MAX_COUNTER,
  MessageType,
  encodeHeader,
  parseHeader,
  readHeaderInto,
  type Header,
} from '../../pkg/header/header.js';
import { AeadCounterError, createAead, type AeadCipher } from '../../pkg/noise/aead.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { waitFor } from './helpers/wait.js';

/** A header whose counter bytes are `hi:lo`, each 32 bits, so counters beyond 2^53 can be written exactly. */
function headerWithCounter(type: MessageType, remoteIndex: number, hi: number, lo: number): Buffer {
  const b = Buffer.alloc(HEADER_LEN);
  b[0] = 0x10 | type;
  b.writeUInt32BE(remoteIndex, 4);
  b.writeUInt32BE(hi >>> 0, 8);
  b.writeUInt32BE(lo >>> 0, 12);
  return b;
}

/** [high word, low word, name]: 2^53, 2^64-2048 (rounds to 2^64 as a double), 2^64-1. */
const HOSTILE: Array<[number, number, string]> = [
  [0x0020_0000, 0, '2^53'],
  [0x0020_0000, 1, '2^53+1'],
  [0xffff_ffff, 0xffff_f800, '2^64-2048'],
  [0xffff_ffff, 0xffff_ffff, '2^64-1'],
];

test('the header parser refuses counters of 2^53 and more, and keeps 2^53-1', () => {
  for (const [hi, lo, name] of HOSTILE) {
    assert.equal(parseHeader(headerWithCounter(MessageType.Test, 7, hi, lo)), null, name);
    const target: Header = { version: 0, type: 0, subtype: 0, reserved: 0, remoteIndex: 0, counter: 5 };
    assert.equal(readHeaderInto(headerWithCounter(MessageType.Message, 7, hi, lo), target), false, name);
    assert.equal(target.counter, 5, `${name}: target untouched`);
  }
  const max = parseHeader(headerWithCounter(MessageType.Test, 7, 0x001f_ffff, 0xffff_ffff));
  assert.equal(max?.counter, MAX_COUNTER);
  assert.equal(MAX_COUNTER, 2 ** 53 - 1);
});

for (const cipher of ['aes', 'chachapoly'] as AeadCipher[]) {
  test(`${cipher}: open returns null and never throws for counters outside [0, 2^53)`, () => {
    const aead = createAead(cipher, randomBytes(32));
    const ad = Buffer.alloc(HEADER_LEN);
    const sealed = aead.seal(MAX_COUNTER, Buffer.from('x'), ad);
    assert.deepEqual(aead.open(MAX_COUNTER, sealed, ad), Buffer.from('x'));
    for (const counter of [2 ** 53, 2 ** 64 - 2048, 2 ** 64 - 1, 2 ** 64, 2 ** 70, -1, 1.5, Number.NaN, Infinity]) {
      assert.equal(aead.open(counter, sealed, ad), null, String(counter));
      assert.equal(aead.open(counter, Buffer.alloc(40), ad), null, String(counter));
    }
  });

  test(`${cipher}: seal refuses a counter it cannot put in a nonce exactly`, () => {
    const aead = createAead(cipher, randomBytes(32));
    for (const counter of [2 ** 53, 2 ** 64, -1, 0.5]) {
      assert.throws(
        () => aead.seal(counter, Buffer.from('x'), Buffer.alloc(HEADER_LEN)),
        AeadCounterError,
        String(counter),
      );
    }
  });
}

test('a datagram with counter 2^64-1 for a live tunnel is dropped as outside-bad-counter, and the tunnel lives on', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1', peers: ['10.99.0.2'] });
  const b = await mesh.node({ vpnIp: '10.99.0.2' });
  await connect(a, b);
  const tunnel = b.tunnelTo(a);
  assert.ok(tunnel);
  for (const type of [MessageType.Test, MessageType.Message, MessageType.Handshake]) {
    const forged = Buffer.concat([
      headerWithCounter(type, tunnel.localIndex, 0xffff_ffff, 0xffff_ffff),
      Buffer.alloc(32),
    ]);
    a.memUdp!.send(forged, b.addr);
  }
  await waitFor(() => b.node.counters.get('drops', 'outside-bad-counter') === 3, {
    what: () => `drops: ${JSON.stringify(b.node.counters.snapshot().drops)}`,
  });
  assert.equal(b.node.counters.get('drops', 'outside-exception'), 0);
  await connect(a, b, 'still up');
});

test('encodeHeader writes what the parser accepts up to MAX_COUNTER', () => {
  const out = new Uint8Array(HEADER_LEN);
  encodeHeader(out, 0, MessageType.Message, 0, 1, MAX_COUNTER);
  assert.equal(parseHeader(out)?.counter, MAX_COUNTER);
});
