import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeHeader,
  parseHeader,
  readHeaderInto,
  HEADER_LEN,
  MessageType,
  MessageSubType,
  TestSubType,
  HandshakeSubType,
  type Header,
} from '../../pkg/header/header.js';

function encode(type: MessageType, subtype: number, remoteIndex: number, counter: number): string {
  const out = new Uint8Array(HEADER_LEN);
  encodeHeader(out, 0, type, subtype, remoteIndex, counter);
  return Buffer.from(out).toString('hex');
}

test('handshake stage 1 header is 10 00 0000, index 0, counter 1', () => {
  assert.equal(
    encode(MessageType.Handshake, HandshakeSubType.IXPSK0, 0, 1),
    '10000000' + '00000000' + '0000000000000001',
  );
});

test('handshake stage 2 header carries the initiator index and counter 2', () => {
  assert.equal(encode(MessageType.Handshake, 0, 0xdeadbeef, 2), '10000000' + 'deadbeef' + '0000000000000002');
});

test('recv_error header is 12 00 0000, the echoed index and counter 0', () => {
  assert.equal(encode(MessageType.RecvError, 0, 0x01020304, 0), '12000000' + '01020304' + '0000000000000000');
});

test('byte 0 is 0x10 | type for every message type', () => {
  const expected: Array<[MessageType, number]> = [
    [MessageType.Handshake, 0x10],
    [MessageType.Message, 0x11],
    [MessageType.RecvError, 0x12],
    [MessageType.LightHouse, 0x13],
    [MessageType.Test, 0x14],
    [MessageType.CloseTunnel, 0x15],
    [MessageType.Control, 0x16],
  ];
  for (const [type, byte0] of expected) {
    const out = new Uint8Array(HEADER_LEN);
    encodeHeader(out, 0, type, 0, 0, 0);
    assert.equal(out[0], byte0);
  }
});

test('test reply and relay subtypes land in byte 1', () => {
  assert.equal(encode(MessageType.Test, TestSubType.Reply, 7, 3).slice(0, 4), '1401');
  assert.equal(encode(MessageType.Message, MessageSubType.Relay, 7, 3).slice(0, 4), '1101');
});

test('counter is written as a 64-bit big-endian integer, including values above 2^32', () => {
  assert.equal(encode(MessageType.Message, 0, 1, 0x0102030405).slice(16), '0000000102030405');
  assert.equal(encode(MessageType.Message, 0, 1, Number.MAX_SAFE_INTEGER).slice(16), '001fffffffffffff');
});

test('encodes at an offset without touching the surrounding bytes', () => {
  const out = new Uint8Array(HEADER_LEN + 8).fill(0xaa);
  encodeHeader(out, 4, MessageType.Message, 0, 0xffffffff, 3);
  assert.equal(Buffer.from(out).toString('hex'), 'aaaaaaaa' + '11000000ffffffff0000000000000003' + 'aaaaaaaa');
});

test('parses a data header into its fields', () => {
  const buf = Buffer.from('1100000012345678000000abcdef0123', 'hex');
  assert.deepEqual(parseHeader(buf), {
    version: 1,
    type: MessageType.Message,
    subtype: 0,
    reserved: 0,
    remoteIndex: 0x12345678,
    counter: 0xabcdef0123,
  });
});

test('parse round-trips whatever encode wrote', () => {
  const out = new Uint8Array(HEADER_LEN);
  for (const counter of [0, 1, 2, 3, 0xffffffff, 0x100000000, 2 ** 40 + 17, Number.MAX_SAFE_INTEGER]) {
    encodeHeader(out, 0, MessageType.Control, 0, 0x80000001, counter);
    const h = parseHeader(out);
    assert.ok(h);
    assert.equal(h.counter, counter);
    assert.equal(h.remoteIndex, 0x80000001);
    assert.equal(h.type, MessageType.Control);
  }
});

test('packets shorter than 16 bytes are not headers (hole-punch bytes included)', () => {
  assert.equal(parseHeader(new Uint8Array(0)), null);
  assert.equal(parseHeader(Uint8Array.of(0x00)), null);
  assert.equal(parseHeader(Uint8Array.of(0x01)), null);
  assert.equal(parseHeader(new Uint8Array(15)), null);
});

test('a longer packet parses from its first 16 bytes', () => {
  const buf = Buffer.concat([Buffer.from('14010000000000070000000000000009', 'hex'), Buffer.alloc(100, 0xff)]);
  const h = parseHeader(buf);
  assert.equal(h?.type, MessageType.Test);
  assert.equal(h?.subtype, TestSubType.Reply);
  assert.equal(h?.counter, 9);
});

test('the version nibble and reserved bytes are reported but do not make a header invalid', () => {
  const h = parseHeader(Buffer.from('f7ff1234000000000000000000000000', 'hex'));
  assert.ok(h);
  assert.equal(h.version, 15);
  assert.equal(h.type, 7);
  assert.equal(h.subtype, 0xff);
  assert.equal(h.reserved, 0x1234);
});

test('readHeaderInto reuses the target and leaves it untouched on a short buffer', () => {
  const target: Header = {
    version: 0,
    type: MessageType.Handshake,
    subtype: 0,
    reserved: 0,
    remoteIndex: 0,
    counter: 0,
  };
  assert.equal(readHeaderInto(Buffer.from('1500000000000042000000000000002a', 'hex'), target), true);
  assert.equal(target.type, MessageType.CloseTunnel);
  assert.equal(target.remoteIndex, 0x42);
  assert.equal(target.counter, 42);
  const before = { ...target };
  assert.equal(readHeaderInto(new Uint8Array(10), target), false);
  assert.deepEqual(target, before);
});
