// The handshake payload carried inside Noise IX messages (Nebula's `NebulaHandshake`, proto3):
//
//   NebulaHandshake        { 1: Details NebulaHandshakeDetails, 2: Hmac bytes (unused) }
//   NebulaHandshakeDetails { 1: Cert bytes (the certificate without its public key),
//                            2: InitiatorIndex uint32, 3: ResponderIndex uint32,
//                            4: Cookie uint64 (unused), 5: Time uint64 (Unix nanoseconds),
//                            8: CertVersion uint32 (Nebula 1.10+; 0 or absent = 1; 6 and 7 reserved) }

import { ProtobufError, ProtobufWriter, readFields } from '../protobuf/protobuf.js';

export interface HandshakeDetails {
  cert: Uint8Array;
  initiatorIndex: number;
  responderIndex: number;
  /** Unix nanoseconds as a double: exact to ~256 ns, plenty to order handshakes a peer starts. */
  time: number;
  /**
   * The version of `cert` as the sender wrote it: 0 (absent, every Nebula before 1.10), 1 or 2. Any other value is
   * kept as sent, for the reader to refuse (docs/certificates-v2.md, "Handshakes").
   */
  certVersion?: number;
}

/** Field 8 is written only when non-zero, so a v1 payload without it is byte for byte Nebula 1.6's. */
export function encodeHandshakePayload(d: HandshakeDetails): Uint8Array {
  const w = new ProtobufWriter().bytes(1, d.cert).uint(2, d.initiatorIndex).uint(3, d.responderIndex).uint(5, d.time);
  if (d.certVersion) w.uint(8, d.certVersion);
  return new ProtobufWriter().message(1, w.finish()).finish();
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
    else if (f.number === 8) d.certVersion = f.value;
  }
  return d;
}

/** The certificate version a payload's CertVersion names: 0 and 1 mean v1 (as in Nebula); null for unknown. */
export function payloadCertVersion(d: HandshakeDetails): 1 | 2 | null {
  const v = d.certVersion ?? 0;
  if (v === 0 || v === 1) return 1;
  if (v === 2) return 2;
  return null;
}
