// Underlay addresses as the addon's per-datagram records carry them (pkg/native/udp.c): a family word and
// four address words, IPv4 in the first as a uint32, IPv6 as four big-endian 32-bit words.
//
// Turning numbers into a UdpAddr costs a string per packet, and a string into numbers a parse per packet, so both
// directions are remembered: a sender seen again gets the very same UdpAddr object back (sameAddr is then a cheap
// comparison, and a roam check allocates nothing), and an address we send to is parsed once.

import { randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';
import { formatIpv6Groups, parseIpv6Groups } from '../ip/ipv6.js';
import type { UdpAddr } from './addr.js';

/** [family (4|6), addr0, addr1, addr2, addr3] */
export type AddrWords = readonly [number, number, number, number, number];

/**
 * Every sender, authenticated or not, per family: the last HEARD_GENERATION distinct ones and up to as many before
 * them (RecentMap). This is all a flood of spoofed sources can fill (docs/security-model.md: nothing
 * unauthenticated grows state without a tight bound): 200k distinct senders leave 1.0 MB (IPv4) and 3.7 MB (IPv6)
 * held, where two generations of 65536 for everyone held 9.7 and 35.6 MB, and a flood entry is dropped after 4096-8192
 * further new senders rather than living long enough to be promoted to the old generation.
 */
export const HEARD_GENERATION = 4096;

/**
 * Senders an authenticated packet came from (SenderCache.keep), per family: the last KEPT_GENERATION distinct ones
 * and up to as many before them. Every sender of a lighthouse's working set (10k-40k tunnels, each heard from every
 * few seconds) finds its very UdpAddr again. Bounded by generations rather than released with the last tunnel using
 * the address: no hostmap hook, and only a peer holding a tunnel key can add entries (by spoofing sources of packets
 * it sealed), which then churns this table and never grows it. An evicted sender is kept again by its next
 * authenticated packet; nothing depends on identity for correctness (sameAddr compares values).
 * Measured (node --expose-gc, heapUsed over 200k distinct senders): ~140 B an IPv4 entry, ~500 B an IPv6 one (most
 * of it the formatted text, a tree of concatenated pieces) - not the ~130 B once written here for both.
 */
export const KEPT_GENERATION = 65536;

/**
 * What the data path tells the socket about a sender once a packet from it opened under a tunnel's key
 * (pkg/datapath/outside.ts, step 6): from then on it is found again among the kept senders.
 */
export interface SenderCache {
  keep(from: UdpAddr): void;
}

/**
 * A map bounded at two generations: keys are added to the current one; when it is full it becomes the previous one
 * and the previous one is dropped. A key found in the previous generation moves to the current one, so what is
 * used within a generation's span stays.
 */
export class RecentMap<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();

  constructor(private readonly generation: number) {}

  get(key: K): V | undefined {
    const v = this.current.get(key);
    if (v !== undefined) return v;
    const old = this.previous.get(key);
    if (old !== undefined) {
      this.previous.delete(key);
      this.add(key, old);
    }
    return old;
  }

  add(key: K, v: V): void {
    if (this.current.size >= this.generation) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, v);
  }

  delete(key: K): void {
    if (!this.current.delete(key)) this.previous.delete(key);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/** An IPv6 sender: its words (as int32, unboxed) and port confirm a hit, since the key is only a hash of them. */
interface V6Sender {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly addr: UdpAddr;
}

/** One family's senders: the small table every datagram may fill and the large one only keep() fills. */
class SenderTables<V> {
  readonly heard: RecentMap<number, V>;
  readonly kept: RecentMap<number, V>;

  constructor(heard: number, kept: number) {
    this.heard = new RecentMap(heard);
    this.kept = new RecentMap(kept);
  }

  keep(key: number, v: V): void {
    this.heard.delete(key);
    this.kept.add(key, v);
  }

  get size(): number {
    return this.heard.size + this.kept.size;
  }
}

export class AddrTable implements SenderCache {
  private readonly v4: SenderTables<UdpAddr>;
  private readonly v6: SenderTables<V6Sender>;
  /** Per table, so an outsider cannot pick IPv6 sources whose keys collide (a collision only costs a new object). */
  private readonly seed = randomInt(0x7fffffff);
  /** The objects keep() took, so a kept sender's packets cost one lookup here and nothing else. */
  private readonly kept = new WeakSet<UdpAddr>();
  /**
   * The last sender fromRecord found among the kept. The data path keeps the senders of a receive batch's packets
   * that opened at the end of the turn, after fromRecord ran for the whole batch, so this matches the batch's last
   * kept sender only (a lighthouse's batch of one datagram: every one); the others fall back to the WeakSet lookup,
   * which with 10k senders in turn missed the CPU's caches.
   */
  private lastKept: UdpAddr | null = null;
  /** Filled when we first send to an address (toWords), not on receipt: most senders are only answered by tunnel. */
  private readonly words = new WeakMap<UdpAddr, AddrWords | null>();

  /**
   * `remember` false: no sender is looked up or kept, each datagram gets a new address object (what the tables
   * replaced; MESH_UDP_SENDERS=0 through BatchConn, so a benchmark can compare both in one run).
   */
  constructor(
    heard = HEARD_GENERATION,
    kept = KEPT_GENERATION,
    private readonly remember = true,
  ) {
    this.v4 = new SenderTables(heard, kept);
    this.v6 = new SenderTables(heard, kept);
  }

  /** The sender in record `r` of `meta` (words r+2 .. r+7). */
  fromRecord(meta: Uint32Array, r: number): UdpAddr {
    const port = meta[r + 3];
    if (!this.remember) return { address: formatRecordAddress(meta, r), port };
    if ((meta[r + 2] & 0xff) === 4) {
      const ip = meta[r + 4];
      const key = ip * 65536 + port;
      const kept = this.v4.kept.get(key);
      if (kept !== undefined) return (this.lastKept = kept);
      let addr = this.v4.heard.get(key);
      if (addr === undefined) {
        addr = { address: formatIpv4(ip), port };
        this.v4.heard.add(key, addr);
      }
      return addr;
    }
    // Looked up by its numbers; the text is formatted only for a sender not found. A hit took 0.78-1.08 us and
    // 40-940 B of garbage per datagram when keyed by the text, 0.04-0.09 us and none now (10k senders in turn).
    const w0 = meta[r + 4] | 0;
    const w1 = meta[r + 5] | 0;
    const w2 = meta[r + 6] | 0;
    const w3 = meta[r + 7] | 0;
    const key = v6Key(this.seed, w0, w1, w2, w3, port);
    const kept = this.v6.kept.get(key);
    const found = kept ?? this.v6.heard.get(key);
    if (
      found !== undefined &&
      found.w0 === w0 &&
      found.w1 === w1 &&
      found.w2 === w2 &&
      found.w3 === w3 &&
      found.addr.port === port
    ) {
      if (found === kept) this.lastKept = found.addr;
      return found.addr;
    }
    const addr = { address: formatIpv6([6, w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0]), port };
    // A colliding kept sender stays where it is; this one is remembered among the heard.
    this.v6.heard.add(key, { w0, w1, w2, w3, addr });
    return addr;
  }

  /** SenderCache: `from` sent a packet that opened under a tunnel's key; it joins the kept senders. */
  keep(from: UdpAddr): void {
    if (from === this.lastKept || !this.remember || this.kept.has(from)) return;
    const w = this.toWords(from);
    if (w === null) return;
    this.kept.add(from);
    if (w[0] === 4) this.v4.keep(w[1] * 65536 + from.port, from);
    else {
      const [w0, w1, w2, w3] = [w[1] | 0, w[2] | 0, w[3] | 0, w[4] | 0];
      this.v6.keep(v6Key(this.seed, w0, w1, w2, w3, from.port), { w0, w1, w2, w3, addr: from });
    }
  }

  /** Entries held, both tables and both families. */
  get size(): number {
    return this.v4.size + this.v6.size;
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

/** The text of the address in record `r` of `meta`. */
function formatRecordAddress(meta: Uint32Array, r: number): string {
  if ((meta[r + 2] & 0xff) === 4) return formatIpv4(meta[r + 4]);
  return formatIpv6([6, meta[r + 4], meta[r + 5], meta[r + 6], meta[r + 7]]);
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

/**
 * A seeded 32-bit mix of the four address words and the port (murmur3's steps), as a signed integer: a small
 * integer for V8, so neither the key nor the entry holds a boxed number.
 */
function v6Key(seed: number, w0: number, w1: number, w2: number, w3: number, port: number): number {
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
