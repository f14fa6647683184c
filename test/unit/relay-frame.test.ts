import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generateX25519KeyPair, type PeerCertBytes } from '../../pkg/cert/index.js';
import type { FirewallPeer } from '../../pkg/firewall/firewall.js';
import { encodeHeader, HEADER_LEN, MessageSubType, MessageType, parseHeader } from '../../pkg/header/header.js';
import { HostInfo, type TunnelKeys } from '../../pkg/hostmap/hostinfo.js';
import type { AeadCipher } from '../../pkg/noise/aead.js';
import { IxInitiator, IxResponder } from '../../pkg/noise/ix.js';
import { unwrapRelayed, wrapRelayed } from '../../pkg/relay/frame.js';

// Relayed framing (docs/wire-format.md, "Relays"): the inner packet rides in the clear and the hop's tag covers the
// outer header and the inner packet, so a relay can forward it and nobody can change a bit on the way.

/** The two ends of one hop tunnel, with keys from a real Noise IX exchange. */
function hopPair(cipher: AeadCipher): { sender: HostInfo; receiver: HostInfo } {
  const i = generateX25519KeyPair();
  const r = generateX25519KeyPair();
  const initiator = new IxInitiator({ cipher, staticKey: i.privateKey });
  const responder = new IxResponder({ cipher, staticKey: r.privateKey });
  responder.readMessage1(initiator.writeMessage1(new Uint8Array(0)));
  const { message, keys: responderKeys } = responder.writeMessage2(new Uint8Array(0));
  const { keys: initiatorKeys } = initiator.readMessage2(message);
  const host = (keys: TunnelKeys, localIndex: number, remoteIndex: number, initiatorSide: boolean): HostInfo =>
    new HostInfo({
      localIndex,
      remoteIndex,
      vpnIp: 0x0a630001,
      cert: {} as PeerCertBytes,
      peer: {} as FirewallPeer,
      keys,
      handshakeTime: 0,
      remote: null,
      initiator: initiatorSide,
      now: 0,
    });
  return { sender: host(initiatorKeys, 11, 22, true), receiver: host(responderKeys, 22, 11, false) };
}

/** An inner packet as the far end would send it: its own header and an opaque end-to-end body. */
function innerPacket(): Uint8Array {
  const inner = new Uint8Array(HEADER_LEN + 24);
  encodeHeader(inner, 0, MessageType.Message, 0, 0x01020304, 77);
  for (let i = HEADER_LEN; i < inner.length; i++) inner[i] = i * 7;
  return inner;
}

for (const cipher of ['aes', 'chachapoly'] as const) {
  test(`a relayed frame (${cipher}) carries the inner packet unchanged behind a type 1 subtype 1 header and unwraps with the hop key`, () => {
    const { sender, receiver } = hopPair(cipher);
    const inner = innerPacket();
    const outer = wrapRelayed(sender, 0xcafe, inner);
    assert.equal(outer.length, HEADER_LEN + inner.length + 16);
    const h = parseHeader(outer)!;
    assert.deepEqual(
      { type: h.type, subtype: h.subtype, remoteIndex: h.remoteIndex, counter: h.counter },
      { type: MessageType.Message, subtype: MessageSubType.Relay, remoteIndex: 0xcafe, counter: 3 },
    );
    assert.deepEqual(
      new Uint8Array(outer.subarray(HEADER_LEN, HEADER_LEN + inner.length)),
      inner,
      'the inner packet travels as is',
    );
    const unwrapped = unwrapRelayed(receiver, h.counter, outer);
    assert.ok(unwrapped);
    assert.deepEqual(new Uint8Array(unwrapped), inner);
  });

  test(`flipping any single bit of a relayed frame (${cipher}), in the outer header, the inner packet or the tag, makes it rejected`, () => {
    const { sender, receiver } = hopPair(cipher);
    const outer = wrapRelayed(sender, 0xcafe, innerPacket());
    const counter = parseHeader(outer)!.counter;
    let rejected = 0;
    for (let bit = 0; bit < outer.length * 8; bit++) {
      const copy = Buffer.from(outer);
      copy[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(unwrapRelayed(receiver, counter, copy), null, `bit ${bit} flipped was accepted`);
      rejected++;
    }
    assert.equal(rejected, outer.length * 8);
    assert.ok(unwrapRelayed(receiver, counter, outer), 'the untouched frame still unwraps');
  });
}

test('a relayed frame is rejected under another counter, when truncated, or by the wrong hop', () => {
  const { sender, receiver } = hopPair('aes');
  const other = hopPair('aes').receiver;
  const outer = wrapRelayed(sender, 1, innerPacket());
  const counter = parseHeader(outer)!.counter;
  assert.equal(unwrapRelayed(receiver, counter + 1, outer), null);
  for (const len of [0, 1, HEADER_LEN, HEADER_LEN + 15, outer.length - 1]) {
    assert.equal(unwrapRelayed(receiver, counter, outer.subarray(0, len)), null, `truncated to ${len}`);
  }
  assert.equal(unwrapRelayed(other, counter, outer), null);
  assert.ok(unwrapRelayed(receiver, counter, outer));
});

test('a relayed frame may carry an empty inner packet and each wrap takes the next hop counter', () => {
  const { sender, receiver } = hopPair('chachapoly');
  const first = wrapRelayed(sender, 5, new Uint8Array(0));
  const second = wrapRelayed(sender, 5, new Uint8Array(0));
  assert.equal(parseHeader(first)!.counter + 1, parseHeader(second)!.counter);
  assert.equal(unwrapRelayed(receiver, parseHeader(first)!.counter, first)?.length, 0);
});
