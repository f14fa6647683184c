// Relay control messages (Nebula's `NebulaControl`, proto3), carried encrypted as message type 6:
//
//   NebulaControl { 1: Type enum (0 None, 1 CreateRelayRequest, 2 CreateRelayResponse; 100 RelayRemoved: mesh only),
//                   2: InitiatorRelayIndex uint32, 3: ResponderRelayIndex uint32,
//                   4: RelayToIp uint32 (VpnIp), 5: RelayFromIp uint32 (VpnIp) }

import type { Ipv4 } from '../ip/ipv4.js';
import { ProtobufWriter, readFields } from '../protobuf/protobuf.js';

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
}

export function encodeControl(m: ControlMessage): Uint8Array {
  return new ProtobufWriter()
    .uint(1, m.type)
    .uint(2, m.initiatorRelayIndex)
    .uint(3, m.responderRelayIndex)
    .uint(4, m.relayToIp)
    .uint(5, m.relayFromIp)
    .finish();
}

export function decodeControl(buf: Uint8Array): ControlMessage {
  const m: ControlMessage = { type: ControlType.None, initiatorRelayIndex: 0, responderRelayIndex: 0, relayToIp: 0, relayFromIp: 0 };
  for (const f of readFields(buf)) {
    if (f.number === 1) m.type = f.value as ControlType;
    else if (f.number === 2) m.initiatorRelayIndex = f.value >>> 0;
    else if (f.number === 3) m.responderRelayIndex = f.value >>> 0;
    else if (f.number === 4) m.relayToIp = f.value >>> 0;
    else if (f.number === 5) m.relayFromIp = f.value >>> 0;
  }
  return m;
}
