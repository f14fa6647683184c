// Nebula's `Addr` message (v2 lighthouse and relay messages, docs/wire-format.md): an overlay address of either family
// as two uint64 halves of its 16-byte form, big-endian,
//
//   Addr { 1: Hi uint64 (bytes 0..7), 2: Lo uint64 (bytes 8..15) }
//
// An IPv4 address is written IPv4-mapped (::ffff:a.b.c.d) and a mapped address read back is the IPv4 address, as
// Nebula 1.10+ does, so a v2 message names an IPv4 host exactly as a v1 message's uint32 does.

import { ipv4Addr, ipv6Addr, type IpAddr } from '../ip/prefix.js';
import type { Ipv4 } from '../ip/ipv4.js';
import { fieldUint64, ProtobufWriter, readFields } from './protobuf.js';

export function encodeNebulaAddr(a: IpAddr): Uint8Array {
  const b16 = a.family === 4 ? Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a.bytes) : a.bytes;
  let hi = 0n;
  let lo = 0n;
  for (let i = 0; i < 8; i++) hi = (hi << 8n) | BigInt(b16[i]);
  for (let i = 8; i < 16; i++) lo = (lo << 8n) | BigInt(b16[i]);
  return new ProtobufWriter().uint64(1, hi).uint64(2, lo).finish();
}

/** Throws ProtobufError on a field of the wrong wire type; unknown fields are skipped, missing halves are 0. */
export function decodeNebulaAddr(buf: Uint8Array): IpAddr {
  let hi = 0n;
  let lo = 0n;
  for (const f of readFields(buf)) {
    // Exact 64 bits; Go's decoder keeps the low 64 bits of an over-long varint, and so does the reader.
    if (f.number === 1) hi = fieldUint64(f);
    else if (f.number === 2) lo = fieldUint64(f);
  }
  const b16 = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    b16[7 - i] = Number((hi >> BigInt(8 * i)) & 0xffn);
    b16[15 - i] = Number((lo >> BigInt(8 * i)) & 0xffn);
  }
  const mapped = b16.subarray(0, 10).every((x) => x === 0) && b16[10] === 0xff && b16[11] === 0xff;
  return mapped ? ipv4Addr(b16.subarray(12)) : ipv6Addr(b16);
}

/** The uint32 form the IPv4-only code uses, or undefined for an IPv6 address. */
export function ipv4Of(a: IpAddr): Ipv4 | undefined {
  if (a.family !== 4) return undefined;
  return ((a.bytes[0] << 24) | (a.bytes[1] << 16) | (a.bytes[2] << 8) | a.bytes[3]) >>> 0;
}
