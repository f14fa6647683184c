// The v1 lighthouse message with addresses or relays (a query's reply, a punch notification, a host update, a push),
// measured first and written straight into one array of its size: the general encoder (meta.ts encodeMetaFields)
// made a writer and two copies per address and BigInt halves per IPv6 address, ~8 KB of garbage and ~6 us per query
// a lighthouse answers (a reply and a punch notification). What it writes (docs/wire-format.md "Lighthouse
// messages"; proto3: a zero value is left out), in this order, which is encodeMetaFields' order:
//
//   NebulaMeta        1: type varint, 2: details (length-delimited, present even when empty)
//   NebulaMetaDetails 1: vpnIp varint, 2: Ip4AndPort* { 1: ip varint, 2: port varint },
//                     4: Ip6AndPort* { 1: hi uint64, 2: lo uint64, 3: port varint }, 3: counter varint,
//                     5: relays, packed varints (IPv4 relays only: v1 has no place for IPv6 ones)
//
// An IPv6 address's hi and lo are kept as two 32-bit words each (addrWords), never as BigInt. It must write exactly
// what encodeMetaFields writes: a v1 field added there must be added here too (the lighthouse-meta-sized test
// compares the two on seeded messages and goes red if they differ).

import type { MetaMessage } from './meta.js';
import { dottedQuad } from '../ip/ipv4.js';
import { parseIpv6Groups } from '../ip/ipv6.js';
import { varintSize, writeVarint } from '../protobuf/protobuf.js';

/** Each address's numbers between encodeV1Sized's two passes: IPv4 [ip], IPv6 [hi word 1, hi word 2, lo 1, lo 2]. */
let addrWords = new Uint32Array(64);

/**
 * `m` in the v1 layout, or null for what it does not take (a value no varint holds, an address that is not a
 * literal): the caller gives that to encodeMetaFields, which refuses it with its error.
 */
export function encodeV1Sized(m: MetaMessage): Uint8Array | null {
  const vpnIp = m.vpnIp as number;
  const counter = m.seen ?? m.probePort ?? 0;
  const addrs = m.addrs;
  if (!isVarint(m.type) || !isVarint(vpnIp) || !isVarint(counter)) return null;
  if (addrWords.length < 4 * addrs.length) addrWords = new Uint32Array(4 * addrs.length);
  const words = addrWords;
  let detailsLen = (vpnIp !== 0 ? 1 + varintSize(vpnIp) : 0) + (counter !== 0 ? 1 + varintSize(counter) : 0);
  for (let i = 0; i < addrs.length; i++) {
    const { address, port } = addrs[i]!;
    if (!isVarint(port)) return null;
    let inner = port !== 0 ? 1 + varintSize(port) : 0;
    if (address.includes(':')) {
      const g = parseIpv6Groups(address);
      if (g === null) return null;
      const w = 4 * i;
      words[w] = ((g[0]! << 16) | g[1]!) >>> 0;
      words[w + 1] = ((g[2]! << 16) | g[3]!) >>> 0;
      words[w + 2] = ((g[4]! << 16) | g[5]!) >>> 0;
      words[w + 3] = ((g[6]! << 16) | g[7]!) >>> 0;
      inner += uint64FieldSize(words[w]!, words[w + 1]!) + uint64FieldSize(words[w + 2]!, words[w + 3]!);
    } else {
      const ip = dottedQuad(address);
      if (ip < 0) return null;
      words[4 * i] = ip;
      inner += ip !== 0 ? 1 + varintSize(ip) : 0;
    }
    detailsLen += 1 + varintSize(inner) + inner;
  }
  let relaysLen = 0;
  for (const r of m.relays) {
    if (typeof r !== 'number') continue; // IPv6 relays have no place in v1
    if (!isVarint(r)) return null;
    relaysLen += varintSize(r);
  }
  if (relaysLen > 0) detailsLen += 1 + varintSize(relaysLen) + relaysLen;
  const typeLen = m.type !== 0 ? 1 + varintSize(m.type) : 0;
  const out = new Uint8Array(typeLen + 1 + varintSize(detailsLen) + detailsLen);
  let at = 0;
  if (m.type !== 0) {
    out[at++] = 0x08; // NebulaMeta field 1, varint
    at = writeVarint(out, at, m.type);
  }
  out[at++] = 0x12; // field 2, the details
  at = writeVarint(out, at, detailsLen);
  if (vpnIp !== 0) {
    out[at++] = 0x08;
    at = writeVarint(out, at, vpnIp);
  }
  // In encodeMetaFields' order: IPv4 addresses (field 2), IPv6 ones (field 4), the counter (3), the relays (5).
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < addrs.length; i++) {
      const { address, port } = addrs[i]!;
      const v6 = address.includes(':');
      if (v6 !== (pass === 1)) continue;
      const w = 4 * i;
      const portLen = port !== 0 ? 1 + varintSize(port) : 0;
      if (v6) {
        out[at++] = 0x22; // field 4, bytes
        at = writeVarint(
          out,
          at,
          uint64FieldSize(words[w]!, words[w + 1]!) + uint64FieldSize(words[w + 2]!, words[w + 3]!) + portLen,
        );
        at = writeUint64Field(out, at, 0x08, words[w]!, words[w + 1]!);
        at = writeUint64Field(out, at, 0x10, words[w + 2]!, words[w + 3]!);
        if (port !== 0) {
          out[at++] = 0x18;
          at = writeVarint(out, at, port);
        }
      } else {
        const ip = words[w]!;
        out[at++] = 0x12; // field 2, bytes
        at = writeVarint(out, at, (ip !== 0 ? 1 + varintSize(ip) : 0) + portLen);
        if (ip !== 0) {
          out[at++] = 0x08;
          at = writeVarint(out, at, ip);
        }
        if (port !== 0) {
          out[at++] = 0x10;
          at = writeVarint(out, at, port);
        }
      }
    }
  }
  if (counter !== 0) {
    out[at++] = 0x18;
    at = writeVarint(out, at, counter);
  }
  if (relaysLen > 0) {
    out[at++] = 0x2a; // field 5, packed
    at = writeVarint(out, at, relaysLen);
    for (const r of m.relays) if (typeof r === 'number') at = writeVarint(out, at, r);
  }
  return out;
}

/** Key and value of a uint64 field whose value is the 64 bits hi:lo, or 0 when it is zero (proto3 omits it). */
function uint64FieldSize(hi: number, lo: number): number {
  if (hi === 0) return lo === 0 ? 0 : 1 + varintSize(lo);
  return 1 + Math.ceil((64 - Math.clz32(hi)) / 7);
}

/** Writes key `key` and the varint of the 64 bits hi:lo (nothing when zero), seven bits at a time from the low end. */
function writeUint64Field(out: Uint8Array, at: number, key: number, hi: number, lo: number): number {
  if (hi === 0 && lo === 0) return at;
  out[at++] = key;
  while (hi !== 0 || lo > 0x7f) {
    out[at++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[at++] = lo;
  return at;
}

/** Whether protobuf's writer takes `v` as a varint (what it does not take, it refuses). */
export function isVarint(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}
