// The v1 certificate's view of mesh's one protobuf codec (pkg/protobuf/): Nebula reads certificates with
// google.golang.org/protobuf, so they are read with the 'proto' rules (10-byte varints whose last byte is 0 or 1,
// field numbers 1..2^29-1, groups skipped when they nest properly and end with their own number), and every refusal
// is a CertError, so that nothing but CertError leaves the certificate decoder.

import { ProtoReader as Reader, WireType } from '../protobuf/protobuf.js';
import { CertError } from './errors.js';

export { int64Size, varintSize, writeInt64, writeVarint, type Varint64 } from '../protobuf/protobuf.js';

export const WIRE_VARINT = WireType.Varint;
export const WIRE_FIXED64 = WireType.Fixed64;
export const WIRE_BYTES = WireType.Bytes;
export const WIRE_START_GROUP = WireType.StartGroup;
export const WIRE_END_GROUP = WireType.EndGroup;
export const WIRE_FIXED32 = WireType.Fixed32;

export class ProtoReader extends Reader {
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    super(buf, 'proto', start, end);
  }

  protected override fail(why: string): Error {
    return new CertError('ECERTDECODE', `malformed certificate protobuf: ${why}`);
  }
}
