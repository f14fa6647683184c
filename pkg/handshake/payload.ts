// The handshake payload carried inside Noise IX messages (Nebula's `NebulaHandshake`, proto3):
//
//   NebulaHandshake        { 1: Details NebulaHandshakeDetails, 2: Hmac bytes (unused) }
//   NebulaHandshakeDetails { 1: Cert bytes (RawNebulaCertificate without PublicKey),
//                            2: InitiatorIndex uint32, 3: ResponderIndex uint32,
//                            4: Cookie uint64 (unused), 5: Time uint64 (Unix nanoseconds) }

import { ProtobufError, ProtobufWriter, readFields } from '../protobuf/protobuf.js';

export interface HandshakeDetails {
  cert: Uint8Array;
  initiatorIndex: number;
  responderIndex: number;
  /** Unix nanoseconds as a double: exact to ~256 ns, plenty to order handshakes a peer starts. */
  time: number;
}

export function encodeHandshakePayload(d: HandshakeDetails): Uint8Array {
  const details = new ProtobufWriter()
    .bytes(1, d.cert)
    .uint(2, d.initiatorIndex)
    .uint(3, d.responderIndex)
    .uint(5, d.time)
    .finish();
  return new ProtobufWriter().message(1, details).finish();
}

export function decodeHandshakePayload(buf: Uint8Array): HandshakeDetails {
  let detailsBytes: Uint8Array | undefined;
  for (const f of readFields(buf)) if (f.number === 1 && f.bytes) detailsBytes = f.bytes;
  if (!detailsBytes) throw new ProtobufError('handshake payload has no details');
  const d: HandshakeDetails = { cert: new Uint8Array(0), initiatorIndex: 0, responderIndex: 0, time: 0 };
  for (const f of readFields(detailsBytes)) {
    if (f.number === 1 && f.bytes) d.cert = f.bytes;
    else if (f.number === 2) d.initiatorIndex = f.value >>> 0;
    else if (f.number === 3) d.responderIndex = f.value >>> 0;
    else if (f.number === 5) d.time = f.value;
  }
  return d;
}
