// Underlay addresses as the addon's per-datagram records carry them (pkg/native/udp.c): a family word and
// four address words, IPv4 in the first as a uint32, IPv6 as four big-endian 32-bit words.
//
// Turning numbers into a UdpAddr costs a string per packet, and a string into numbers a parse per packet, so both
// directions are remembered: a sender heard again while it holds its cache slot gets the very same UdpAddr object
// back (sameAddr is then a cheap comparison, and a roam check allocates nothing), and an address we send to is
// parsed once.

import { randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';
import { formatIpv6Groups, parseIpv6Groups } from '../ip/ipv6.js';
import type { UdpAddr } from './addr.js';

/** [family (4|6), addr0, addr1, addr2, addr3] */
export type AddrWords = readonly [number, number, number, number, number];

/**
 * Slots of the sender cache (direct-mapped by a seeded hash of the address and port): all the senders a socket
 * remembers, whatever floods it. A few peers sending a lot (a tunnel's bulk traffic) each keep their slot and get
 * their UdpAddr back at the cost of an array read; a lighthouse's 10k-40k nodes, each heard every few seconds, miss
 * and get a new UdpAddr, which cost less than the lookup in a table of them all did (bench/lh-load, below).
 */
export const SENDER_SLOTS = 512;

/**
 * What the data path tells the socket about a sender once a packet from it opened under a tunnel's key
 * (pkg/datapath/outside.ts, step 6): from then on a datagram from an unauthenticated source cannot take its slot.
 */
export interface SenderCache {
  keep(from: UdpAddr): void;
}

/** A remembered sender: its words (as int32, unboxed) and port confirm a hit, since the slot is only a hash. */
interface Sender {
  readonly family: number;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly addr: UdpAddr;
  /** Sent an authenticated packet (SenderCache.keep): only another kept sender takes the slot. */
  kept: boolean;
}

/**
 * Senders' UdpAddr objects by their record words, and records' words by UdpAddr (for sends).
 *
 * Why a small direct-mapped cache and not a table of every sender (what sessions 8-9 had, two generations of 65536
 * kept and 4096 heard per family): at a lighthouse of 10k nodes its
 * lookup missed the CPU's caches on every datagram (3.7% of the main thread in perf against 0.5% for a new object,
 * and no more GC), 0.2-0.3 points of steady CPU in 7 lab pairs; in a bulk flow from one peer it saved
 * 0.4-0.6 CPU s per million 64-byte packets over a new object each (3 of 3 pairs), which the cache keeps.
 */
export class AddrTable implements SenderCache {
  private readonly slots: (Sender | null)[] = new Array<Sender | null>(SENDER_SLOTS).fill(null);
  /**
   * The sender fromRecord last returned, with its slot: the data path keeps the sender of every packet that opened
   * right after fromRecord gave it, and keep() then needs neither a parse nor a lookup.
   */
  private last: Sender | null = null;
  private lastSlot = 0;
  /** Filled when we first send to an address (toWords), not on receipt: most senders are only answered by tunnel. */
  private readonly words = new WeakMap<UdpAddr, AddrWords | null>();

  /**
   * `remember` false: a new object for every datagram, nothing held (MESH_UDP_SENDERS=0, for comparison). `seed`:
   * per table, so an outsider cannot aim its sources at a slot (tests fix it).
   */
  constructor(
    private readonly remember = true,
    private readonly seed = randomInt(0x7fffffff),
  ) {}

  /** The sender in record `r` of `meta` (words r+2 .. r+7). */
  fromRecord(meta: Uint32Array, r: number): UdpAddr {
    const port = meta[r + 3];
    if (!this.remember) return newSender(meta, r).addr;
    const family = meta[r + 2] & 0xff;
    const w0 = meta[r + 4] | 0;
    const w1 = meta[r + 5] | 0;
    const w2 = meta[r + 6] | 0;
    const w3 = meta[r + 7] | 0;
    const slot = senderKey(this.seed, w0, w1, w2, w3, port | (family << 16)) & (SENDER_SLOTS - 1);
    const s = this.slots[slot];
    if (
      s !== null &&
      s.w0 === w0 &&
      s.w1 === w1 &&
      s.w2 === w2 &&
      s.w3 === w3 &&
      s.family === family &&
      s.addr.port === port
    ) {
      this.last = s;
      this.lastSlot = slot;
      return s.addr;
    }
    const fresh = newSender(meta, r);
    // A kept sender's slot is not given to a source nobody authenticated yet (keep() may still give it).
    if (s === null || !s.kept) this.slots[slot] = fresh;
    this.last = fresh;
    this.lastSlot = slot;
    return fresh.addr;
  }

  /** SenderCache: `from` sent a packet that opened under a tunnel's key; it holds its slot from now on. */
  keep(from: UdpAddr): void {
    const last = this.last;
    // Only the sender of the datagram being handled is kept: the data path keeps no other (a sender given by an
    // earlier datagram is kept by its own next packet).
    if (last === null || last.addr !== from) return;
    last.kept = true;
    this.slots[this.lastSlot] = last;
  }

  /** Senders held. */
  get size(): number {
    let n = 0;
    for (const s of this.slots) if (s !== null) n++;
    return n;
  }

  /** The record words for `addr`, or null when it is not an IP literal (a zone id, a name). */
  toWords(addr: UdpAddr): AddrWords | null {
    let w = this.words.get(addr);
    if (w === undefined) {
      w = parseAddrWords(addr.address);
      this.words.set(addr, w);
    }
    return w;
  }
}

function newSender(meta: Uint32Array, r: number): Sender {
  const family = meta[r + 2] & 0xff;
  const [w0, w1, w2, w3] = [meta[r + 4] | 0, meta[r + 5] | 0, meta[r + 6] | 0, meta[r + 7] | 0];
  const address = family === 4 ? formatIpv4(w0 >>> 0) : formatIpv6([6, w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0]);
  return { family, w0, w1, w2, w3, addr: { address, port: meta[r + 3] }, kept: false };
}

export function parseAddrWords(address: string): AddrWords | null {
  if (isIPv4(address)) return [4, parseIpv4(address), 0, 0, 0];
  const hextets = parseIpv6Groups(address); // null for a zone id or a name
  if (hextets === null) return null;
  const words = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) words[i] = ((hextets[2 * i] << 16) | hextets[2 * i + 1]) >>> 0;
  // An IPv4-mapped address is that IPv4 address: one peer, one spelling (see addr.ts).
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return [4, words[3], 0, 0, 0];
  return [6, words[0], words[1], words[2], words[3]];
}

/** RFC 5952 text of the four address words (pkg/ip/ipv6.ts writes it as Go's netip does). */
export function formatIpv6(w: AddrWords): string {
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    groups[2 * i] = w[i + 1] >>> 16;
    groups[2 * i + 1] = w[i + 1] & 0xffff;
  }
  return formatIpv6Groups(groups);
}

/** A seeded 32-bit mix of the four address words and the port (murmur3's steps); its low bits pick the slot. */
function senderKey(seed: number, w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = seed;
  h = Math.imul(h ^ w0, 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 0x1b873593) ^ w1;
  h = Math.imul((h << 13) | (h >>> 19), 0xcc9e2d51) ^ w2;
  h = Math.imul((h << 13) | (h >>> 19), 0x1b873593) ^ w3;
  h = Math.imul((h << 13) | (h >>> 19), 0xcc9e2d51) ^ port;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
