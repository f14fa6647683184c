// The mesh-only messages of NAT classification and punch-TTL learning (docs/mesh-extensions.md, "NAT tests"). Two
// kinds travel as bare datagrams between a node's listen socket and a mesh lighthouse's second port; two travel
// inside the authenticated lighthouse tunnel and tie the bare ones to it with random tokens.
//
// Bare datagrams (never Nebula packets: a Nebula packet is at least 32 bytes and starts with version 1):
//
//   NatProbe   node listen socket -> lighthouse second port, 64 bytes:
//      0                   1                   2                   3
//      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//     |  'M' (0x4d)   |  'N' (0x4e)   |  'A' (0x41)   |  'T' (0x54)   |
//     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//     |  kind = 1     |            token (16 bytes) ...               |
//     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//     |  ... token    |  zero padding to 64 bytes                     |
//     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   The lighthouse never answers one: it only remembers where the token came from.
//
//   NatEcho    lighthouse second port -> the address its tunnel sees the node at, 21 bytes:
//     | 'MNAT' | kind = 2 | token (16 bytes) |
//   Sent only when the node asked inside the tunnel (a request of 60+ bytes), so it is smaller than its cause.
//
// Inside the tunnel, NebulaMeta-shaped (field 1 the type as a one-byte varint, field 2 the details), on types
// Nebula's enum does not have (a Nebula lighthouse is never sent them: only one that announced a second port):
//
//   NatTestRequest (100) { 1: asker VpnIp uint32 (its IPv4 address; 0 for an IPv6 one, docs/ipv6.md), 2: probeToken bytes(16), 3: echoToken bytes(16) }
//       probeToken: "where did your second port see this token from?"; echoToken: "send this token from your
//       second port to where you see me". Either may be absent.
//   NatTestReply   (101) { 1: asker VpnIp uint32, 2: probeToken bytes(16), 3: seenAt Ip4AndPort, 4: second port }
//       seenAt is absent when the probe token was not (yet) seen.

import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';
import {
  fieldBytes,
  fieldEnum,
  fieldUint32,
  ProtobufError,
  ProtobufWriter,
  readFields,
  type Field,
} from '../protobuf/protobuf.js';
import { isIpv6Addr, udpAddr, type UdpAddr } from '../udp/addr.js';

export const NAT_MAGIC = Uint8Array.of(0x4d, 0x4e, 0x41, 0x54);
export const TOKEN_LEN = 16;
export const NAT_PROBE_LEN = 64;
export const NAT_ECHO_LEN = NAT_MAGIC.length + 1 + TOKEN_LEN;
const KIND_PROBE = 1;
const KIND_ECHO = 2;

export const enum NatTestType {
  Request = 100,
  Reply = 101,
}

export interface NatTestRequest {
  vpnIp: number;
  probeToken?: Uint8Array;
  echoToken?: Uint8Array;
}

export interface NatTestReply {
  vpnIp: number;
  probeToken?: Uint8Array;
  seenAt?: UdpAddr;
  probePort: number;
}

function bare(kind: number, token: Uint8Array, length: number): Uint8Array {
  if (token.length !== TOKEN_LEN) throw new RangeError(`token must be ${TOKEN_LEN} bytes`);
  const out = new Uint8Array(length);
  out.set(NAT_MAGIC, 0);
  out[4] = kind;
  out.set(token, 5);
  return out;
}

export function encodeNatProbe(token: Uint8Array): Uint8Array {
  return bare(KIND_PROBE, token, NAT_PROBE_LEN);
}

export function encodeNatEcho(token: Uint8Array): Uint8Array {
  return bare(KIND_ECHO, token, NAT_ECHO_LEN);
}

function decodeBare(packet: Uint8Array, kind: number, length: number): Uint8Array | null {
  if (packet.length !== length || packet[4] !== kind) return null;
  for (let i = 0; i < NAT_MAGIC.length; i++) if (packet[i] !== NAT_MAGIC[i]) return null;
  for (let i = 5 + TOKEN_LEN; i < length; i++) if (packet[i] !== 0) return null;
  return packet.slice(5, 5 + TOKEN_LEN);
}

/** The token of a NatProbe, or null when the datagram is anything else. */
export function decodeNatProbe(packet: Uint8Array): Uint8Array | null {
  return decodeBare(packet, KIND_PROBE, NAT_PROBE_LEN);
}

/** The token of a NatEcho, or null when the datagram is anything else. */
export function decodeNatEcho(packet: Uint8Array): Uint8Array | null {
  return decodeBare(packet, KIND_ECHO, NAT_ECHO_LEN);
}

/** Whether a decrypted lighthouse payload is one of ours (checked before any decoding). */
export function natTestType(payload: Uint8Array): NatTestType | null {
  if (payload.length < 2 || payload[0] !== 0x08) return null;
  return payload[1] === NatTestType.Request || payload[1] === NatTestType.Reply ? payload[1] : null;
}

export function encodeNatTestRequest(m: NatTestRequest): Uint8Array {
  const details = new ProtobufWriter().uint(1, m.vpnIp).bytes(2, m.probeToken).bytes(3, m.echoToken).finish();
  return new ProtobufWriter().uint(1, NatTestType.Request).message(2, details).finish();
}

export function encodeNatTestReply(m: NatTestReply): Uint8Array {
  const details = new ProtobufWriter().uint(1, m.vpnIp).bytes(2, m.probeToken);
  if (m.seenAt && !isIpv6Addr(m.seenAt))
    details.message(3, new ProtobufWriter().uint(1, parseIpv4(m.seenAt.address)).uint(2, m.seenAt.port).finish());
  details.uint(4, m.probePort);
  return new ProtobufWriter().uint(1, NatTestType.Reply).message(2, details.finish()).finish();
}

function detailsOf(buf: Uint8Array, want: NatTestType): Field[] {
  let type = -1;
  let details: Uint8Array | undefined;
  for (const f of readFields(buf)) {
    if (f.number === 1) type = fieldEnum(f);
    else if (f.number === 2) details = fieldBytes(f);
  }
  if (type !== want) throw new ProtobufError(`expected NAT test type ${want}, got ${type}`);
  return details ? readFields(details) : [];
}

export function decodeNatTestRequest(buf: Uint8Array): NatTestRequest {
  const m: NatTestRequest = { vpnIp: 0 };
  for (const f of detailsOf(buf, NatTestType.Request)) {
    if (f.number === 1) m.vpnIp = fieldUint32(f);
    else if (f.number === 2) m.probeToken = token(f);
    else if (f.number === 3) m.echoToken = token(f);
  }
  return m;
}

export function decodeNatTestReply(buf: Uint8Array): NatTestReply {
  const m: NatTestReply = { vpnIp: 0, probePort: 0 };
  for (const f of detailsOf(buf, NatTestType.Reply)) {
    if (f.number === 1) m.vpnIp = fieldUint32(f);
    else if (f.number === 2) m.probeToken = token(f);
    else if (f.number === 3) m.seenAt = ip4AndPort(fieldBytes(f));
    else if (f.number === 4) m.probePort = port(fieldUint32(f));
  }
  return m;
}

function ip4AndPort(buf: Uint8Array): UdpAddr {
  let ip = 0;
  let p = 0;
  for (const f of readFields(buf)) {
    if (f.number === 1) ip = fieldUint32(f);
    else if (f.number === 2) p = port(fieldUint32(f));
  }
  return udpAddr(formatIpv4(ip), p);
}

function port(v: number): number {
  if (v > 65535) throw new ProtobufError('port out of range');
  return v;
}

function token(f: Field): Uint8Array {
  const b = fieldBytes(f);
  if (b.length !== TOKEN_LEN) throw new ProtobufError(`field ${f.number}: a token is ${TOKEN_LEN} bytes`);
  return Uint8Array.from(b);
}

/** Hex of a token, as a map key. */
export function tokenKey(t: Uint8Array): string {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('hex');
}
