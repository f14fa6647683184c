// Relay control messages (Nebula's `NebulaControl`, proto3), carried encrypted as message type 6:
//
//   NebulaControl { 1: Type enum (0 None, 1 CreateRelayRequest, 2 CreateRelayResponse; 100 RelayRemoved: mesh only),
//                   2: InitiatorRelayIndex uint32, 3: ResponderRelayIndex uint32,
//                   4: RelayToIp uint32 (VpnIp), 5: RelayFromIp uint32 (VpnIp) }
//
// Version 2 (Nebula 1.10+, on tunnels made with v2 certificates; docs/wire-format.md) leaves 4 and 5 unset and names
// the ends by `Addr` (protobuf/nebula-addr.ts, IPv4 written IPv4-mapped): 6: RelayToAddr, 7: RelayFromAddr. As
// Nebula decides it, a message is v1 when field 4 or 5 is non-zero, else v2.

import type { Ipv4 } from '../ip/ipv4.js';
import { ipv4FromUint32, type IpAddr } from '../ip/prefix.js';
import type { MetaVersion } from '../lighthouse/meta.js';
import { decodeNebulaAddr, encodeNebulaAddr, ipv4Of } from '../protobuf/nebula-addr.js';
import { ProtobufError, ProtobufWriter, readFields, WireType } from '../protobuf/protobuf.js';

export enum ControlType {
  None = 0,
  CreateRelayRequest = 1,
  CreateRelayResponse = 2,
  /**
   * Mesh only (Nebula 1.6.1 handles types 1 and 2 and ignores any other; 100, well clear of any type Nebula may
   * define next, one of its development branches having used 3): the relay lost its tunnel to the far
   * end and dropped both legs. Sent by the relay over its tunnel to the end whose leg went: initiatorRelayIndex is
   * that end's relay index (the one it must forget), responderRelayIndex the relay's own index of the leg,
   * relayFromIp that end and relayToIp the far end that went.
   */
  RelayRemoved = 100,
}

export interface ControlMessage {
  type: ControlType;
  initiatorRelayIndex: number;
  responderRelayIndex: number;
  relayToIp: Ipv4;
  relayFromIp: Ipv4;
  /**
   * The layout: decodeControl sets 2 for a v2 message and leaves it unset for v1 (lighthouse/meta.ts `layout`).
   * A request we start takes the hop tunnel's version; an answer copies the request's, as Nebula answers.
   */
  version?: MetaVersion;
  /** v2 only, as decoded: the RelayToAddr / RelayFromAddr fields, which may be IPv6 (then the uint32 form is 0). */
  relayToAddr?: IpAddr;
  relayFromAddr?: IpAddr;
}

/** Encodes in `m.version` when set (senders set it from the tunnel or the request, see `layout`), else in `version`. */
export function encodeControl(m: ControlMessage, version: MetaVersion = 1): Uint8Array {
  const w = new ProtobufWriter().uint(1, m.type).uint(2, m.initiatorRelayIndex).uint(3, m.responderRelayIndex);
  if ((m.version ?? version) === 1) return w.uint(4, m.relayToIp).uint(5, m.relayFromIp).finish();
  const to = m.relayToAddr ?? (m.relayToIp !== 0 ? ipv4FromUint32(m.relayToIp) : undefined);
  const from = m.relayFromAddr ?? (m.relayFromIp !== 0 ? ipv4FromUint32(m.relayFromIp) : undefined);
  if (to) w.message(6, encodeNebulaAddr(to));
  if (from) w.message(7, encodeNebulaAddr(from));
  return w.finish();
}

export function decodeControl(buf: Uint8Array): ControlMessage {
  const m: ControlMessage = { type: ControlType.None, initiatorRelayIndex: 0, responderRelayIndex: 0, relayToIp: 0, relayFromIp: 0 };
  let to: IpAddr | undefined;
  let from: IpAddr | undefined;
  for (const f of readFields(buf)) {
    if (f.number === 1) m.type = f.value as ControlType;
    else if (f.number === 2) m.initiatorRelayIndex = f.value >>> 0;
    else if (f.number === 3) m.responderRelayIndex = f.value >>> 0;
    else if (f.number === 4) m.relayToIp = f.value >>> 0;
    else if (f.number === 5) m.relayFromIp = f.value >>> 0;
    else if (f.number === 6) to = decodeNebulaAddr(addrBytes(f.wireType, f.bytes));
    else if (f.number === 7) from = decodeNebulaAddr(addrBytes(f.wireType, f.bytes));
  }
  if (m.relayToIp === 0 && m.relayFromIp === 0 && (to || from)) {
    m.version = 2;
    if (to) {
      m.relayToAddr = to;
      m.relayToIp = ipv4Of(to) ?? 0;
    }
    if (from) {
      m.relayFromAddr = from;
      m.relayFromIp = ipv4Of(from) ?? 0;
    }
  }
  return m;
}

function addrBytes(wireType: WireType, bytes: Uint8Array | undefined): Uint8Array {
  if (wireType !== WireType.Bytes || !bytes) throw new ProtobufError('relay address: expected length-delimited bytes');
  return bytes;
}
