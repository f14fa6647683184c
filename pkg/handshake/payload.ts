// The handshake payload carried inside Noise IX messages (Nebula's `NebulaHandshake`, proto3):
//
//   NebulaHandshake        { 1: Details NebulaHandshakeDetails, 2: Hmac bytes (unused) }
//   NebulaHandshakeDetails { 1: Cert bytes (the certificate without its public key),
//                            2: InitiatorIndex uint32, 3: ResponderIndex uint32,
//                            4: Cookie uint64 (unused), 5: Time uint64 (Unix nanoseconds),
//                            8: CertVersion uint32 (Nebula 1.10+; 0 or absent = 1; 6 and 7 reserved) }

import {
  ProtobufError,
  ProtobufWriter,
  ProtoReader,
  varint64ToBigInt,
  WireType,
  type Varint64,
} from '../protobuf/protobuf.js';

export interface HandshakeDetails {
  cert: Uint8Array;
  initiatorIndex: number;
  responderIndex: number;
  /** Unix nanoseconds, exact (a uint64: today's times are ~1.8e18, above 2^53, where a double rounds them). */
  time: bigint;
  /**
   * The version of `cert` as the sender wrote it: 0 (absent, every Nebula before 1.10), 1 or 2. Any other value is
   * kept as sent, for the reader to refuse (docs/certificates-v2.md, "Handshakes").
   */
  certVersion?: number;
}

/** Field 8 is written only when non-zero, so a v1 payload without it is byte for byte Nebula 1.6's. */
export function encodeHandshakePayload(d: HandshakeDetails): Uint8Array {
  const w = new ProtobufWriter().bytes(1, d.cert).uint(2, d.initiatorIndex).uint(3, d.responderIndex).uint64(5, d.time);
  if (d.certVersion) w.uint(8, d.certVersion);
  return new ProtobufWriter().message(1, w.finish()).finish();
}

// Read as Nebula 1.11's hand-written handshake decoder reads it (over protowire; our reader's
// 'protowire' rules): a NebulaHandshake field 1 that is not length-delimited, and any other field (Hmac), is skipped;
// in the details a known field with the wrong wire type, or a uint32 field above 2^32-1, refuses the payload;
// Cookie (4) and unknown fields are skipped; a second Details merges into the first (later values win).
export function decodeHandshakePayload(buf: Uint8Array): HandshakeDetails {
  const d: HandshakeDetails = { cert: new Uint8Array(0), initiatorIndex: 0, responderIndex: 0, time: 0n };
  let sawDetails = false;
  const r = new ProtoReader(buf, 'protowire');
  while (!r.done()) {
    const [num, type] = r.tag();
    if (num === 1 && type === WireType.Bytes) {
      mergeDetails(r.bytes(), d);
      sawDetails = true;
    } else r.skip(num, type);
  }
  if (!sawDetails) throw new ProtobufError('handshake payload has no details');
  return d;
}

function mergeDetails(buf: Uint8Array, d: HandshakeDetails): void {
  const r = new ProtoReader(buf, 'protowire');
  const varint = (type: number): Varint64 => {
    if (type !== WireType.Varint) throw new ProtobufError('handshake details: wrong wire type');
    return r.varint64();
  };
  const uint32 = (type: number): number => {
    const v = varint(type);
    if (v.hi !== 0) throw new ProtobufError('handshake details: uint32 field out of range');
    return v.lo;
  };
  while (!r.done()) {
    const [num, type] = r.tag();
    if (num === 1) {
      if (type !== WireType.Bytes) throw new ProtobufError('handshake details: wrong wire type');
      d.cert = r.bytes();
    } else if (num === 2) d.initiatorIndex = uint32(type);
    else if (num === 3) d.responderIndex = uint32(type);
    else if (num === 5) d.time = varint64ToBigInt(varint(type));
    else if (num === 8) d.certVersion = uint32(type);
    else r.skip(num, type);
  }
}

/** The certificate version a payload's CertVersion names: 0 and 1 mean v1 (as in Nebula); null for unknown. */
export function payloadCertVersion(d: HandshakeDetails): 1 | 2 | null {
  const v = d.certVersion ?? 0;
  if (v === 0 || v === 1) return 1;
  if (v === 2) return 2;
  return null;
}
