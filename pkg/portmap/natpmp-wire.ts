// NAT-PMP (RFC 6886): the external-address and map-UDP exchanges. Built and parsed here; sockets and retries in
// natpmp.ts. All fields big-endian; version 0.
//
// Public address request (2 bytes):   | vers = 0 | op = 0 |
// Public address response (12 bytes): | vers = 0 | op = 128 | result code (16) | epoch (32) | external IPv4 (32) |
//
// Map UDP request (12 bytes):
//  +-----------+-----------+-----------------------+
//  | vers = 0  |  op = 1   |    reserved (0)       |
//  +-----------+-----------+-----------------------+
//  |      internal port    | suggested ext. port   |
//  +-----------------------+-----------------------+
//  |       requested lifetime (seconds, 0 = delete)|
//  +-----------------------------------------------+
// Map UDP response (16 bytes): | vers | op = 129 | result code (16) | epoch (32) | internal port (16) |
//                              | mapped external port (16) | lifetime (32) |

import { formatIpv4 } from '../ip/ipv4.js';

export const NATPMP_OP_ADDRESS = 0;
export const NATPMP_OP_MAP_UDP = 1;

export const NatPmpResult: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
};

export interface NatPmpAddressResponse {
  op: typeof NATPMP_OP_ADDRESS;
  result: number;
  epochSec: number;
  externalIp: string;
}

export interface NatPmpMapResponse {
  op: typeof NATPMP_OP_MAP_UDP;
  result: number;
  epochSec: number;
  internalPort: number;
  externalPort: number;
  lifetimeSec: number;
}

export function encodeNatPmpAddressRequest(): Uint8Array {
  return Uint8Array.of(0, NATPMP_OP_ADDRESS);
}

export function encodeNatPmpMapUdp(internalPort: number, suggestedPort: number, lifetimeSec: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  out[1] = NATPMP_OP_MAP_UDP;
  v.setUint16(4, internalPort);
  v.setUint16(6, suggestedPort);
  v.setUint32(8, lifetimeSec >>> 0);
  return out;
}

/**
 * A NAT-PMP response, or a string saying why `b` is not one. An error result may come with only the first 8 bytes
 * (RFC 6886 §3.5: a server that does not know the opcode echoes what it has), so those are accepted short.
 */
export function parseNatPmpResponse(b: Uint8Array): NatPmpAddressResponse | NatPmpMapResponse | string {
  if (b.length < 8 || b.length > 1100) return 'bad length';
  if (b[0] !== 0) return 'bad version';
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const result = v.getUint16(2);
  const epochSec = v.getUint32(4);
  const op = (b[1] as number) - 128;
  if (op === NATPMP_OP_ADDRESS) {
    if (b.length < 12) return result !== 0 ? { op, result, epochSec, externalIp: '0.0.0.0' } : 'short address response';
    return { op, result, epochSec, externalIp: formatIpv4(v.getUint32(8)) };
  }
  if (op === NATPMP_OP_MAP_UDP) {
    if (b.length < 16)
      return result !== 0
        ? { op, result, epochSec, internalPort: 0, externalPort: 0, lifetimeSec: 0 }
        : 'short map response';
    return {
      op,
      result,
      epochSec,
      internalPort: v.getUint16(8),
      externalPort: v.getUint16(10),
      lifetimeSec: v.getUint32(12),
    };
  }
  return 'unknown opcode';
}
