// Lighthouse messages (Nebula's `NebulaMeta`, proto3), carried encrypted as message type 3:
//
//   NebulaMeta        { 1: Type enum, 2: Details NebulaMetaDetails (always present) }
//   NebulaMetaDetails { 1: VpnIp uint32, 2: Ip4AndPorts repeated Ip4AndPort, 3: counter uint32 (unused),
//                       4: Ip6AndPorts repeated Ip6AndPort, 5: RelayVpnIp repeated uint32 (packed) }
//   Ip4AndPort        { 1: Ip uint32 (address bytes read big-endian), 2: Port uint32 }
//   Ip6AndPort        { 1: Hi uint64 (first 8 bytes, BE), 2: Lo uint64 (last 8 bytes, BE), 3: Port uint32 }

import { formatIpv4, parseIpv4, type Ipv4 } from '../ip/ipv4.js';
import { bigIntToIpv6, ipv6ToBigInt } from '../ip/ipv6.js';
import { ProtobufError, ProtobufWriter, readFields, readPackedVarints, varintToBigInt, WireType, type Field } from '../protobuf/protobuf.js';
import { isIpv6Addr, udpAddr, type UdpAddr } from '../udp/addr.js';

export enum MetaType {
  None = 0,
  HostQuery = 1,
  HostQueryReply = 2,
  HostUpdateNotification = 3,
  HostMovedNotification = 4,
  HostPunchNotification = 5,
  HostWhoami = 6,
  HostWhoamiReply = 7,
  PathCheck = 8,
  PathCheckReply = 9,
}

export interface MetaMessage {
  type: MetaType;
  vpnIp: Ipv4;
  /** IPv4 and IPv6 underlay addresses in the order they appear (all v4 first, then all v6, as on the wire). */
  addrs: UdpAddr[];
  relays: Ipv4[];
  /** HostQueryReply (or the push, HostMovedNotification) from a mesh lighthouse: which addresses it saw as the host's UDP source (SEEN_* bits). */
  seen?: number;
  /** HostWhoamiReply from a mesh lighthouse: its second UDP port for NAT tests (lighthouse/probe-port.ts), in field 3. */
  probePort?: number;
}

// Which replied addresses a lighthouse saw, rather than only heard reported by the host itself: a mesh lighthouse
// sets NebulaMetaDetails field 3 ("counter", which Nebula 1.6.1 neither sets nor reads) in a HostQueryReply.
// Absent or 0: no address is known to be seen (a Nebula lighthouse, or a host the lighthouse reaches only through
// a relay), and every address is only what the host claims. Birthday probes go only to a seen address.
/** The first IPv4 address of the reply is the one the lighthouse sees the host's packets come from. */
export const SEEN_FIRST_V4 = 1;
/** The first IPv6 address of the reply is the one the lighthouse sees the host's packets come from. */
export const SEEN_FIRST_V6 = 2;

export function encodeMeta(m: MetaMessage): Uint8Array {
  const details = new ProtobufWriter().uint(1, m.vpnIp);
  for (const a of m.addrs) {
    if (isIpv6Addr(a)) continue;
    details.message(2, new ProtobufWriter().uint(1, parseIpv4(a.address)).uint(2, a.port).finish());
  }
  for (const a of m.addrs) {
    if (!isIpv6Addr(a)) continue;
    const v = ipv6ToBigInt(a.address);
    const hi = v >> 64n;
    const lo = v & 0xffffffffffffffffn;
    details.message(4, new ProtobufWriter().uint64(1, hi).uint64(2, lo).uint(3, a.port).finish());
  }
  details.uint(3, m.seen ?? m.probePort ?? 0);
  details.packed(5, m.relays);
  return new ProtobufWriter().uint(1, m.type).message(2, details.finish()).finish();
}

export function decodeMeta(buf: Uint8Array): MetaMessage {
  let type = MetaType.None;
  let detailsBytes: Uint8Array | undefined;
  for (const f of readFields(buf)) {
    if (f.number === 1) type = varint(f) as MetaType;
    else if (f.number === 2) detailsBytes = bytes(f);
  }
  if (!detailsBytes) throw new ProtobufError('lighthouse message without details');
  const m: MetaMessage = { type, vpnIp: 0, addrs: [], relays: [] };
  const v6: UdpAddr[] = [];
  for (const f of readFields(detailsBytes)) {
    if (f.number === 1) m.vpnIp = varint(f) >>> 0;
    else if (f.number === 2) m.addrs.push(decodeIp4AndPort(bytes(f)));
    else if (f.number === 3 && (type === MetaType.HostQueryReply || type === MetaType.HostMovedNotification)) {
      m.seen = varint(f) & (SEEN_FIRST_V4 | SEEN_FIRST_V6);
    }
    else if (f.number === 3 && type === MetaType.HostWhoamiReply) m.probePort = varint(f) & 0xffff;
    else if (f.number === 4) v6.push(decodeIp6AndPort(bytes(f)));
    else if (f.number === 5 && f.bytes) m.relays.push(...readPackedVarints(f.bytes).map((v) => v >>> 0));
    else if (f.number === 5) m.relays.push(varint(f) >>> 0);
  }
  m.addrs.push(...v6);
  return m;
}

function decodeIp4AndPort(buf: Uint8Array): UdpAddr {
  let ip = 0;
  let port = 0;
  for (const f of readFields(buf)) {
    if (f.number === 1) ip = varint(f) >>> 0;
    else if (f.number === 2) port = varint(f);
  }
  if (port > 65535) throw new ProtobufError('port out of range');
  return udpAddr(formatIpv4(ip), port);
}

function decodeIp6AndPort(buf: Uint8Array): UdpAddr {
  let hi = 0n;
  let lo = 0n;
  let port = 0;
  for (const f of readFields(buf)) {
    if (f.number === 1) hi = varintToBigInt(varintBytes(f));
    else if (f.number === 2) lo = varintToBigInt(varintBytes(f));
    else if (f.number === 3) port = varint(f);
  }
  if (port > 65535) throw new ProtobufError('port out of range');
  return udpAddr(bigIntToIpv6(((hi & 0xffffffffffffffffn) << 64n) | (lo & 0xffffffffffffffffn)), port);
}


// A known field with the wrong wire type makes the message invalid, as it does for Go's decoder.
function varint(f: Field): number {
  if (f.wireType !== WireType.Varint) throw new ProtobufError(`field ${f.number}: expected a varint`);
  return f.value;
}

function varintBytes(f: Field): Uint8Array {
  if (f.wireType !== WireType.Varint || !f.varint) throw new ProtobufError(`field ${f.number}: expected a varint`);
  return f.varint;
}

function bytes(f: Field): Uint8Array {
  if (f.wireType !== WireType.Bytes || !f.bytes) throw new ProtobufError(`field ${f.number}: expected length-delimited bytes`);
  return f.bytes;
}
