// Lighthouse messages (Nebula's `NebulaMeta`, proto3), carried encrypted as message type 3:
//
//   NebulaMeta        { 1: Type enum, 2: Details NebulaMetaDetails (always present) }
//   NebulaMetaDetails { 1: VpnIp uint32, 2: Ip4AndPorts repeated Ip4AndPort, 3: counter uint32 (unused),
//                       4: Ip6AndPorts repeated Ip6AndPort, 5: RelayVpnIp repeated uint32 (packed) }
//   Ip4AndPort        { 1: Ip uint32 (address bytes read big-endian), 2: Port uint32 }
//   Ip6AndPort        { 1: Hi uint64 (first 8 bytes, BE), 2: Lo uint64 (last 8 bytes, BE), 3: Port uint32 }
//
// Version 2 of the layout (Nebula 1.10+, on tunnels made with v2 certificates; docs/wire-format.md) names hosts by
// an `Addr` (protobuf/nebula-addr.ts, IPv4 written IPv4-mapped) instead of a uint32:
//
//   NebulaMetaDetails { 6: VpnAddr Addr (optional in an update), 7: RelayVpnAddrs repeated Addr; 2, 3, 4 as above;
//                       1 and 5 unset }
//
// A message is v2 when field 1 is unset and field 6 or 7 is present (Nebula: a non-zero field 1 means v1).
//
// IPv6 overlay addresses (docs/ipv6.md): `vpnIp` and `relays` are VpnIp (pkg/ip/vpn-ip.ts), so an IPv6 host or
// relay is simply an IPv6 VpnIp, written as an Addr in the v2 layout. The v1 layout has only uint32 fields: an IPv6
// relay is left out of it (as Nebula 1.10's coalesceAnswers does) and a v1 message about an IPv6 host cannot be
// written at all (MetaV1Ipv6Error); senders check `fitsLayout` first and skip and count such a message.

import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';
import { formatIpv6Groups, ipv6ToBigInt } from '../ip/ipv6.js';
import { ipAddrOfVpnIp, vpnIpFromIpAddr, type VpnIp } from '../ip/vpn-ip.js';
import {
  ProtobufError,
  ProtobufWriter,
  ProtoReader,
  readPackedUint32,
  varintSize,
  WireType,
  writeVarint,
} from '../protobuf/protobuf.js';
import { isIpv6Addr, udpAddr, type UdpAddr } from '../udp/addr.js';
import { decodeNebulaAddr, encodeNebulaAddr } from '../protobuf/nebula-addr.js';
import { encodeV1Sized, isVarint } from './meta-v1-sized.js';

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
  /** Nebula 1.7+: a lighthouse's answer to every HostUpdateNotification it accepted (server.ts). */
  HostUpdateNotificationAck = 10,
}

/** 1: Nebula 1.6's layout (uint32 overlay addresses); 2: the v2 layout of Nebula 1.10+ (Addr, see above). */
export type MetaVersion = 1 | 2;

/**
 * The `version` property for a message to send in layout `v`: none for v1, which is what a message without one is
 * encoded in, so v1 messages stay exactly as they were before v2 existed.
 */
export function layout(v: MetaVersion): { version?: 2 } {
  return v === 2 ? { version: 2 } : {};
}

/** A v1 message cannot name an IPv6 host (its field 1 is a uint32): a caller bug, senders check `fitsLayout`. */
export class MetaV1Ipv6Error extends Error {
  override name = 'MetaV1Ipv6Error';
  readonly code = 'EMETAV1IPV6';
}

export interface MetaMessage {
  type: MetaType;
  /** The host the message is about; 0 for none (a v2 update or ack). IPv6 only in the v2 layout. */
  vpnIp: VpnIp;
  /** IPv4 and IPv6 underlay addresses in the order they appear (all v4 first, then all v6, as on the wire). */
  addrs: UdpAddr[];
  /** The host's relays; an IPv6 one is written in the v2 layout only (left out of a v1 message). */
  relays: VpnIp[];
  /** HostQueryReply (or the push, HostMovedNotification) from a mesh lighthouse: which addresses it saw as the host's UDP source (SEEN_* bits). */
  seen?: number;
  /** HostWhoamiReply from a mesh lighthouse: its second UDP port for NAT tests (lighthouse/probe-port.ts), in field 3. */
  probePort?: number;
  /**
   * The layout: decodeMeta sets 2 for a v2 message and leaves it unset for v1 (see `layout`). Senders set it from
   * the tunnel's certificate version, or copy the request's so that it is answered in its version.
   */
  version?: MetaVersion;
}

/** Whether a message naming `vpnIp` can be written in layout `v`: v1 names hosts by uint32 only. */
export function fitsLayout(vpnIp: VpnIp, v: MetaVersion): boolean {
  return v === 2 || typeof vpnIp === 'number';
}

// Which replied addresses a lighthouse saw, rather than only heard reported by the host itself: a mesh lighthouse
// sets NebulaMetaDetails field 3 ("counter", which Nebula 1.6.1 neither sets nor reads) in a HostQueryReply.
// Absent or 0: no address is known to be seen (a Nebula lighthouse, or a host the lighthouse reaches only through
// a relay), and every address is only what the host claims. Birthday probes go only to a seen address.
/** The first IPv4 address of the reply is the one the lighthouse sees the host's packets come from. */
export const SEEN_FIRST_V4 = 1;
/** The first IPv6 address of the reply is the one the lighthouse sees the host's packets come from. */
export const SEEN_FIRST_V6 = 2;

/** Encodes in `m.version` when set (senders set it from the tunnel or the request, see `layout`), else in `version`. */
export function encodeMeta(m: MetaMessage, version: MetaVersion = 1): Uint8Array {
  const v = m.version ?? version;
  if (!fitsLayout(m.vpnIp, v)) throw new MetaV1Ipv6Error(`a v1 lighthouse message cannot name ${m.vpnIp}`);
  if (m.addrs.length === 0 && m.relays.length === 0 && (v === 1 || m.vpnIp === 0)) return encodeBareMeta(m, v);
  // What the sized writer does not take goes to encodeMetaFields, which refuses it with its error.
  return (v === 1 ? encodeV1Sized(m) : null) ?? encodeMetaFields(m, v);
}

/**
 * A message without addresses or relays, and in v2 without a VpnAddr (an update's ack, a query in v1): written
 * straight into one array of its size. A lighthouse acks every host update; the general encoder's two writers and
 * their copies were a fifth of the garbage an update made. The same bytes as encodeMetaFields (a test compares).
 */
function encodeBareMeta(m: MetaMessage, v: MetaVersion): Uint8Array {
  const named = v === 1 ? (m.vpnIp as number) : 0;
  const counter = m.seen ?? m.probePort ?? 0;
  // What no varint holds is refused by the writer's checks, with its error.
  if (!isVarint(m.type) || !isVarint(named) || !isVarint(counter)) return encodeMetaFields(m, v);
  const detailsLen = (named !== 0 ? 1 + varintSize(named) : 0) + (counter !== 0 ? 1 + varintSize(counter) : 0);
  const typeLen = m.type !== 0 ? 1 + varintSize(m.type) : 0;
  // A slice of node's Buffer pool, not an array of its own: a new Uint8Array is also an ArrayBuffer and a backing
  // store on the heap (~220 bytes of young garbage per ack, against ~100 for a pooled slice).
  const out = Buffer.allocUnsafe(typeLen + 1 + varintSize(detailsLen) + detailsLen);
  let at = 0;
  if (m.type !== 0) {
    out[at++] = 0x08; // field 1, varint
    at = writeVarint(out, at, m.type);
  }
  out[at++] = 0x12; // field 2, bytes: the details, even when empty (Nebula refuses a message without them)
  at = writeVarint(out, at, detailsLen);
  if (named !== 0) {
    out[at++] = 0x08;
    at = writeVarint(out, at, named);
  }
  if (counter !== 0) {
    out[at++] = 0x18; // field 3, varint
    writeVarint(out, at, counter);
  }
  return out;
}

/** encodeMeta for any message (exported for the test that compares the bare path with it). */
export function encodeMetaFields(m: MetaMessage, v: MetaVersion): Uint8Array {
  const details = new ProtobufWriter();
  if (v === 1) details.uint(1, m.vpnIp as number);
  for (const a of m.addrs) {
    if (isIpv6Addr(a)) continue;
    details.message(2, new ProtobufWriter().uint(1, parseIpv4(a.address)).uint(2, a.port).finish());
  }
  if (v === 2) details.uint(3, m.seen ?? m.probePort ?? 0);
  for (const a of m.addrs) {
    if (!isIpv6Addr(a)) continue;
    const n = ipv6ToBigInt(a.address);
    const hi = n >> 64n;
    const lo = n & 0xffffffffffffffffn;
    details.message(4, new ProtobufWriter().uint64(1, hi).uint64(2, lo).uint(3, a.port).finish());
  }
  if (v === 1) {
    details.uint(3, m.seen ?? m.probePort ?? 0);
    details.packed(
      5,
      m.relays.filter((r): r is number => typeof r === 'number'),
    );
  } else {
    // Fields in number order, as Nebula's generated encoder writes them. An update may leave VpnAddr out.
    if (m.vpnIp !== 0) details.message(6, encodeNebulaAddr(ipAddrOfVpnIp(m.vpnIp)));
    for (const r of m.relays) details.message(7, encodeNebulaAddr(ipAddrOfVpnIp(r)));
  }
  return new ProtobufWriter().uint(1, m.type).message(2, details.finish()).finish();
}

// Decoded in one pass over each message with the reader's visitor (protobuf/reader.ts `next`), not as a field list:
// a lighthouse decodes every host update of every node, and a list of field objects per message was most of the
// garbage it made per update. Accepted and refused exactly as gogo's generated Unmarshal (docs/wire-format.md).
export function decodeMeta(buf: Uint8Array): MetaMessage {
  let type = MetaType.None;
  let detailsBytes: Uint8Array | undefined;
  const r = new ProtoReader(buf, 'gogo');
  while (r.next()) {
    if (r.fieldNumber === 1) {
      r.expect(WireType.Varint);
      type = r.uint32() as MetaType; // an enum: compared with the known values only, kept unsigned (fields.ts)
    } else if (r.fieldNumber === 2) {
      r.expect(WireType.Bytes);
      detailsBytes = r.bytes();
    } else r.skipField();
  }
  if (!detailsBytes) throw new ProtobufError('lighthouse message without details');
  const m: MetaMessage = { type, vpnIp: 0, addrs: [], relays: [] };
  let v6: UdpAddr[] | undefined;
  let vpnAddr: VpnIp | undefined;
  let relayAddrs: VpnIp[] | undefined;
  const d = new ProtoReader(detailsBytes, 'gogo');
  while (d.next()) {
    switch (d.fieldNumber) {
      case 1:
        d.expect(WireType.Varint);
        m.vpnIp = d.uint32();
        break;
      case 2:
        d.expect(WireType.Bytes);
        m.addrs.push(decodeIp4AndPort(d.bytes()));
        break;
      case 3: {
        d.expect(WireType.Varint); // Nebula's Counter: unused by Nebula, but a wrong wire type is refused
        const value = d.uint32();
        if (type === MetaType.HostQueryReply || type === MetaType.HostMovedNotification) {
          m.seen = value & (SEEN_FIRST_V4 | SEEN_FIRST_V6);
        } else if (type === MetaType.HostWhoamiReply) m.probePort = value & 0xffff;
        break;
      }
      case 4:
        d.expect(WireType.Bytes);
        (v6 ??= []).push(decodeIp6AndPort(d.bytes()));
        break;
      case 5:
        // Repeated uint32: packed, or a single one (Go accepts both).
        if (d.wireType === WireType.Varint) m.relays.push(d.uint32());
        else {
          d.expect(WireType.Bytes);
          m.relays.push(...readPackedUint32(d.bytes()));
        }
        break;
      case 6:
        d.expect(WireType.Bytes);
        vpnAddr = vpnIpFromIpAddr(decodeNebulaAddr(d.bytes()));
        break;
      case 7:
        d.expect(WireType.Bytes);
        (relayAddrs ??= []).push(vpnIpFromIpAddr(decodeNebulaAddr(d.bytes())));
        break;
      default:
        d.skipField();
    }
  }
  // An IPv4-mapped Ip6AndPort decodes as IPv4 (udp/addr.ts) and takes its place among the IPv4 ones, where
  // encodeMeta writes it back: all IPv4 first, then all IPv6, and a re-encoded message decodes in the same order.
  if (v6) m.addrs.push(...v6.filter((a) => !isIpv6Addr(a)), ...v6.filter((a) => isIpv6Addr(a)));
  // As Nebula decides it: a non-zero field 1 makes the message v1, whatever else it carries.
  // A VpnAddr of 0.0.0.0 names nobody, as an unset one (so the message re-encodes as it decoded).
  if (m.vpnIp === 0 && ((vpnAddr !== undefined && vpnAddr !== 0) || relayAddrs !== undefined)) {
    m.version = 2;
    if (vpnAddr !== undefined) m.vpnIp = vpnAddr;
    if (relayAddrs) m.relays.push(...relayAddrs);
  } else if (relayAddrs) {
    // Nebula reads the v2 relay list of a v1 message too (GetRelays); IPv6 ones have no place in a v1 exchange.
    m.relays.push(...relayAddrs.filter((r) => typeof r === 'number'));
  }
  return m;
}

function decodeIp4AndPort(buf: Uint8Array): UdpAddr {
  let ip = 0;
  let port = 0;
  const r = new ProtoReader(buf, 'gogo');
  while (r.next()) {
    if (r.fieldNumber === 1) {
      r.expect(WireType.Varint);
      ip = r.uint32();
    } else if (r.fieldNumber === 2) {
      r.expect(WireType.Varint);
      port = r.uint32();
    } else r.skipField();
  }
  if (port > 65535) throw new ProtobufError('port out of range');
  return udpAddr(formatIpv4(ip), port);
}

/**
 * The two uint64 halves are read as 32-bit words straight into the address's eight groups: a lighthouse decodes one
 * of these in every host update of a dual-stack node, and the bigint route (uint64s, a shift, sixteen masks and
 * shifts) was most of the garbage the update made.
 */
function decodeIp6AndPort(buf: Uint8Array): UdpAddr {
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  let port = 0;
  const r = new ProtoReader(buf, 'gogo');
  while (r.next()) {
    if (r.fieldNumber === 1 || r.fieldNumber === 2) {
      r.expect(WireType.Varint);
      // A repeated field keeps its last value, as Go's decoder does.
      const { lo, hi } = r.varint64();
      const at = r.fieldNumber === 1 ? 0 : 4;
      groups[at] = hi >>> 16;
      groups[at + 1] = hi & 0xffff;
      groups[at + 2] = lo >>> 16;
      groups[at + 3] = lo & 0xffff;
    } else if (r.fieldNumber === 3) {
      r.expect(WireType.Varint);
      port = r.uint32();
    } else r.skipField();
  }
  if (port > 65535) throw new ProtobufError('port out of range');
  return udpAddr(formatIpv6Groups(groups), port);
}
