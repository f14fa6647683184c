// mesh's one protobuf codec, in three files with one job each:
//   reader.ts  ProtoReader: exact varints (two 32-bit halves, bigint uint64), tags, skipping, with the accept and
//              refuse rules of the Go decoder Nebula uses for the message ('gogo', 'proto', 'protowire')
//   fields.ts  readFields and typed accessors for Nebula's generated messages (lighthouse, relay, NAT tests)
//   writer.ts  ProtobufWriter and the sized helpers: Go's canonical bytes
// Written by hand rather than taken from protobufjs: the messages are tiny and fixed, and both the bytes we write and
// the inputs we refuse must match Go's exactly (docs/wire-format.md, "Protobuf decoding rules").

export { ProtoReader, ProtobufError, varint64ToBigInt, WireType, type GoDecoder, type Varint64 } from './reader.js';
export {
  fieldBytes,
  fieldEnum,
  fieldRepeatedUint32,
  fieldUint32,
  fieldUint64,
  readFields,
  readPackedUint32,
  type Field,
} from './fields.js';
export { int64Size, ProtobufWriter, varintSize, writeInt64, writeVarint } from './writer.js';
