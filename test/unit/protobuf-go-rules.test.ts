import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ProtoReader as CertProtoReader } from '../../pkg/cert/proto-wire.js';
import { decodeHandshakePayload, encodeHandshakePayload } from '../../pkg/handshake/payload.js';
import { decodeMeta, MetaType } from '../../pkg/lighthouse/meta.js';
import {
  fieldUint32,
  fieldUint64,
  ProtobufError,
  ProtoReader,
  readFields,
  WireType,
} from '../../pkg/protobuf/protobuf.js';
import { ControlType, decodeControl } from '../../pkg/relay/control.js';

// The one codec accepts and refuses what Nebula's Go decoders do (pkg/protobuf/reader.ts, docs/wire-format.md
// "Protobuf decoding rules"): gogoproto's generated Unmarshal for nebula.pb.go's messages, google.golang.org/protobuf
// (protowire) for v1 certificates. Bytes are written out by hand from the encoding spec.

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const isProtobufError = (e: unknown): boolean => e instanceof ProtobufError && e.code === 'EPROTOBUF';
const isCertError = (e: unknown): boolean => (e as { code?: string }).code === 'ECERTDECODE';

// Field 9 as a group holding a varint, a bytes field and a nested group (field 10), then its end:
//   4b (9, start group) 08 05 (1: 5) 12 01 aa (2: "aa") 53 (10, start) 54 (10, end) 4c (9, end)
const GROUP_9 = '4b 0805 1201aa 53 54 4c';

test('an unknown group is skipped as nebula.pb.go skips it, and the fields around it are read', () => {
  const fields = readFields(bytes(`0801 ${GROUP_9} 1002`));
  assert.deepEqual(
    fields.map((f) => [f.number, f.wireType]),
    [
      [1, WireType.Varint],
      [9, WireType.StartGroup],
      [2, WireType.Varint],
    ],
  );
  assert.equal(fieldUint32(fields[2]), 2);
  // A relay CreateRelayResponse with the group between its indexes.
  const control = decodeControl(bytes(`0802 1007 ${GROUP_9} 1809`));
  assert.equal(control.type, ControlType.CreateRelayResponse);
  assert.equal(control.initiatorRelayIndex, 7);
  assert.equal(control.responderRelayIndex, 9);
  // A HostQuery whose details carry the group after the host's address.
  const meta = decodeMeta(bytes(`0801 12 0e 0881828450 ${GROUP_9}`));
  assert.equal(meta.type, MetaType.HostQuery);
  assert.equal(meta.vpnIp, 0x0a010101);
});

test("gogo closes a group at any end tag (numbers unmatched), protowire (certificates) wants the group's own", () => {
  // 4b: field 9 start; 54: field 10 end.
  assert.deepEqual(
    readFields(bytes('4b 54 0801')).map((f) => f.number),
    [9, 1],
  );
  const cert = new CertProtoReader(bytes('4b 54'));
  const [num, type] = cert.tag();
  assert.throws(() => cert.skip(num, type), isCertError);
  // An end without a start, and a group never closed, are refused by both.
  assert.throws(() => readFields(bytes('4c')), isProtobufError);
  assert.throws(() => readFields(bytes('4b 0801')), isProtobufError);
});

test('a known field with the wrong wire type refuses a Nebula message, as the generated Unmarshal does', () => {
  // NebulaControl field 2 (InitiatorRelayIndex) sent length-delimited.
  assert.throws(() => decodeControl(bytes('0801 1201aa')), isProtobufError);
  // NebulaMeta field 1 (Type) as a group.
  assert.throws(() => decodeMeta(bytes('0b 0c 1200')), isProtobufError);
});

test('a 10-byte varint: gogo drops the bits past 64, protowire refuses a last byte above 1', () => {
  const tenBytes = '08 ffffffffffffffffff7f';
  assert.equal(fieldUint64(readFields(bytes(tenBytes))[0]), 0xffffffffffffffffn);
  const cert = new CertProtoReader(bytes(tenBytes));
  cert.tag();
  assert.throws(() => cert.varint64(), isCertError);
  // Eleven bytes are too many for both.
  assert.throws(() => readFields(bytes('08 ffffffffffffffffffff01')), isProtobufError);
});

test("gogo's field number is the tag's int32: above 2^29-1 an unknown field, 2^31 and 0 refused", () => {
  // Field 2^29, a varint: the tag 2^32 is 80 80 80 80 10.
  assert.deepEqual(
    readFields(bytes('8080808010 01')).map((f) => f.number),
    [2 ** 29],
  );
  // Field 2^31 (tag 2^34): its int32 is negative.
  assert.throws(() => readFields(bytes('8080808040 01')), isProtobufError);
  assert.throws(() => new ProtoReader(bytes('00 01'), 'gogo').tag(), isProtobufError);
  // protowire refuses field numbers above 2^29-1.
  assert.throws(() => new CertProtoReader(bytes('8080808010 01')).tag(), isCertError);
});

test('the handshake Time round-trips exactly above 2^53 (every real Unix-ns time is)', () => {
  for (const time of [1795456525441909115n, 2n ** 53n + 1n, 0xffffffffffffffffn]) {
    const encoded = encodeHandshakePayload({ cert: bytes('aa'), initiatorIndex: 1, responderIndex: 2, time });
    assert.equal(decodeHandshakePayload(encoded).time, time, `time ${time}`);
  }
  // Nebula 1.6.1's Time 1795456525441909115 ns as it sent it (field 5 of the details).
  const details = bytes('0a01aa 1001 28 fb82fdc4a7c6aff518');
  const wire = Uint8Array.of(0x0a, details.length, ...details);
  assert.equal(decodeHandshakePayload(wire).time, 1795456525441909115n);
  assert.deepEqual(encodeHandshakePayload(decodeHandshakePayload(wire)), wire);
});
