// Relay control messages (Nebula's `NebulaControl`, proto3), carried encrypted as message type 6:
//
//   NebulaControl { 1: Type enum (0 None, 1 CreateRelayRequest, 2 CreateRelayResponse; 100 RelayRemoved: mesh only),
//                   2: InitiatorRelayIndex uint32, 3: ResponderRelayIndex uint32,
//                   4: RelayToIp uint32 (VpnIp), 5: RelayFromIp uint32 (VpnIp) }
//
// Version 2 (Nebula 1.10+, on tunnels made with v2 certificates; docs/wire-format.md) leaves 4 and 5 unset and names
// the ends by `Addr` (protobuf/nebula-addr.ts, IPv4 written IPv4-mapped): 6: RelayToAddr, 7: RelayFromAddr. As
// Nebula decides it, a message is v1 when field 4 or 5 is non-zero, else v2.
//
// The ends are VpnIp (pkg/ip/vpn-ip.ts): an IPv6 end is written as an Addr in the v2 layout only. A v1 message
// cannot name one (ControlV1Ipv6Error); the relay manager checks `controlFitsLayout` and skips and counts, as Nebula
// 1.10 refuses ("Refusing to CreateRelayRequest for a v1 relay with an ipv6 address"). See docs/ipv6.md.

import { ipAddrOfVpnIp, vpnIpFromIpAddr, type VpnIp } from '../ip/vpn-ip.js';
import type { MetaVersion } from '../lighthouse/meta.js';
import { decodeNebulaAddr, encodeNebulaAddr } from '../protobuf/nebula-addr.js';
import { fieldBytes, fieldEnum, fieldUint32, ProtobufWriter, readFields } from '../protobuf/protobuf.js';

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
  relayToIp: VpnIp;
  relayFromIp: VpnIp;
  /**
   * The layout: decodeControl sets 2 for a v2 message and leaves it unset for v1 (lighthouse/meta.ts `layout`).
   * A request we start takes the hop tunnel's version; an answer copies the request's, as Nebula answers.
   */
  version?: MetaVersion;
}

export class ControlV1Ipv6Error extends Error {
  override name = 'ControlV1Ipv6Error';
  readonly code = 'ECONTROLV1IPV6';
}

/** Whether both ends can be written in layout `v`: v1 has uint32 fields only. */
export function controlFitsLayout(from: VpnIp, to: VpnIp, v: MetaVersion): boolean {
  return v === 2 || (typeof from === 'number' && typeof to === 'number');
}

/** Encodes in `m.version` when set (senders set it from the tunnel or the request, see `layout`), else in `version`. */
export function encodeControl(m: ControlMessage, version: MetaVersion = 1): Uint8Array {
  const v = m.version ?? version;
  if (!controlFitsLayout(m.relayFromIp, m.relayToIp, v))
    throw new ControlV1Ipv6Error('a v1 relay message cannot name an IPv6 address');
  const w = new ProtobufWriter().uint(1, m.type).uint(2, m.initiatorRelayIndex).uint(3, m.responderRelayIndex);
  if (v === 1)
    return w
      .uint(4, m.relayToIp as number)
      .uint(5, m.relayFromIp as number)
      .finish();
  if (m.relayToIp !== 0) w.message(6, encodeNebulaAddr(ipAddrOfVpnIp(m.relayToIp)));
  if (m.relayFromIp !== 0) w.message(7, encodeNebulaAddr(ipAddrOfVpnIp(m.relayFromIp)));
  return w.finish();
}

export function decodeControl(buf: Uint8Array): ControlMessage {
  const m: ControlMessage = {
    type: ControlType.None,
    initiatorRelayIndex: 0,
    responderRelayIndex: 0,
    relayToIp: 0,
    relayFromIp: 0,
  };
  let to: VpnIp | undefined;
  let from: VpnIp | undefined;
  for (const f of readFields(buf)) {
    // A known field of the wrong wire type refuses the message, as Nebula's generated decoder does.
    if (f.number === 1) m.type = fieldEnum(f) as ControlType;
    else if (f.number === 2) m.initiatorRelayIndex = fieldUint32(f);
    else if (f.number === 3) m.responderRelayIndex = fieldUint32(f);
    else if (f.number === 4) m.relayToIp = fieldUint32(f);
    else if (f.number === 5) m.relayFromIp = fieldUint32(f);
    else if (f.number === 6) to = vpnIpFromIpAddr(decodeNebulaAddr(fieldBytes(f)));
    else if (f.number === 7) from = vpnIpFromIpAddr(decodeNebulaAddr(fieldBytes(f)));
  }
  // An Addr of 0.0.0.0 names nobody, as an unset one (so the message re-encodes as it decoded).
  if (
    m.relayToIp === 0 &&
    m.relayFromIp === 0 &&
    ((to !== undefined && to !== 0) || (from !== undefined && from !== 0))
  ) {
    m.version = 2;
    if (to !== undefined) m.relayToIp = to;
    if (from !== undefined) m.relayFromIp = from;
  }
  return m;
}
