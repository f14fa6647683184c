// PCP (RFC 6887) MAP request and response, the only opcode mesh uses: "forward this external UDP port to my
// listen port". Requests and responses are built and parsed here; sockets, retries and timing live in pcp.ts.
//
// MAP request (60 bytes):
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +---------------+-+-------------+-------------------------------+
//  |  version = 2  |0| opcode = 1  |        reserved (0)           |
//  +---------------+-+-------------+-------------------------------+
//  |                 requested lifetime (seconds)                  |
//  +---------------------------------------------------------------+
//  |      PCP client's IP address (128 bits, IPv4-mapped IPv6)     |
//  +---------------------------------------------------------------+
//  |                  mapping nonce (96 bits)                      |
//  +---------------+-----------------------------------------------+
//  | protocol = 17 |              reserved (0)                     |
//  +---------------+---------------+-------------------------------+
//  |        internal port          |   suggested external port     |
//  +-------------------------------+-------------------------------+
//  |      suggested external IP (128 bits, IPv4-mapped IPv6)       |
//  +---------------------------------------------------------------+
//
// MAP response (60 bytes): version, R=1|opcode, reserved (8), result code (8), lifetime (32), epoch (32),
// reserved (96), then the MAP payload above with the *assigned* external port and IP.

import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';

export const PCP_PORT = 5351;
export const PCP_VERSION = 2;
export const PCP_OPCODE_MAP = 1;
export const PCP_MAP_LEN = 60;
export const IPPROTO_UDP = 17;

/** RFC 6887 §7.4 result codes (the ones a client tells apart in a report). */
export const PcpResult: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized',
  3: 'malformed request',
  4: 'unsupported opcode',
  5: 'unsupported option',
  6: 'malformed option',
  7: 'network failure',
  8: 'no resources',
  9: 'unsupported protocol',
  10: 'user exceeded quota',
  11: 'cannot provide external',
  12: 'address mismatch',
  13: 'excessive remote peers',
};

export interface PcpMapRequest {
  lifetimeSec: number;
  /** Our IPv4 address as the server sees it (the source address of the request). */
  clientIp: string;
  /** 12 random bytes; a response must echo them, and a delete must repeat them. */
  nonce: Uint8Array;
  internalPort: number;
  suggestedPort: number;
  /** '0.0.0.0' for "any". */
  suggestedIp: string;
}

export interface PcpMapResponse {
  result: number;
  lifetimeSec: number;
  epochSec: number;
  nonce: Uint8Array;
  protocol: number;
  internalPort: number;
  externalPort: number;
  /** Dotted IPv4, or null when the server assigned an IPv6 address (mesh maps IPv4 only). */
  externalIp: string | null;
}

/** Writes an IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d) at `off`. */
function writeMappedV4(out: Uint8Array, off: number, ip: string): void {
  out.fill(0, off, off + 10);
  out[off + 10] = 0xff;
  out[off + 11] = 0xff;
  new DataView(out.buffer, out.byteOffset).setUint32(off + 12, parseIpv4(ip) >>> 0);
}

function readMappedV4(b: Uint8Array, off: number): string | null {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return null;
  if (b[off + 10] !== 0xff || b[off + 11] !== 0xff) return null;
  return formatIpv4(new DataView(b.buffer, b.byteOffset).getUint32(off + 12));
}

export function encodePcpMap(req: PcpMapRequest, out: Uint8Array = new Uint8Array(PCP_MAP_LEN)): Uint8Array {
  if (req.nonce.length !== 12) throw new RangeError('PCP nonce must be 12 bytes');
  const v = new DataView(out.buffer, out.byteOffset, PCP_MAP_LEN);
  out.fill(0, 0, PCP_MAP_LEN);
  out[0] = PCP_VERSION;
  out[1] = PCP_OPCODE_MAP;
  v.setUint32(4, req.lifetimeSec >>> 0);
  writeMappedV4(out, 8, req.clientIp);
  out.set(req.nonce, 24);
  out[36] = IPPROTO_UDP;
  v.setUint16(40, req.internalPort);
  v.setUint16(42, req.suggestedPort);
  writeMappedV4(out, 44, req.suggestedIp);
  return out.subarray(0, PCP_MAP_LEN);
}

/**
 * A MAP response, or a string saying why `b` is not one. A NAT-PMP-only server answers a PCP request with a
 * version 0 "unsupported version" reply (RFC 6887 §9): reported as 'nat-pmp server'.
 * Options after the payload are ignored (a MAP response carries none we asked for); length must be a multiple of 4.
 */
export function parsePcpMapResponse(b: Uint8Array): PcpMapResponse | string {
  if (b.length >= 2 && b[0] === 0 && b[1] !== undefined && (b[1] & 0x80) !== 0) return 'nat-pmp server';
  if (b.length < PCP_MAP_LEN || b.length > 1100 || b.length % 4 !== 0) return 'bad length';
  if (b[0] !== PCP_VERSION) return 'bad version';
  if (b[1] !== (0x80 | PCP_OPCODE_MAP)) return 'not a MAP response';
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    result: b[3] as number,
    lifetimeSec: v.getUint32(4),
    epochSec: v.getUint32(8),
    nonce: b.slice(24, 36),
    protocol: b[36] as number,
    internalPort: v.getUint16(40),
    externalPort: v.getUint16(42),
    externalIp: readMappedV4(b, 44),
  };
}
