// Underlay addresses as the addon's per-datagram records carry them (pkg/native/udp.c): a family word and
// four address words, IPv4 in the first as a uint32, IPv6 as four big-endian 32-bit words.
//
// Turning numbers into a UdpAddr costs a string per packet, and a string into numbers a parse per packet, so both
// directions are remembered: a sender seen again gets the very same UdpAddr object back (sameAddr is then a cheap
// comparison, and a roam check allocates nothing), and an address we send to is parsed once.

import { isIPv4 } from 'node:net';
import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';
import { formatIpv6Groups, parseIpv6Groups } from '../ip/ipv6.js';
import type { UdpAddr } from './addr.js';

/** [family (4|6), addr0, addr1, addr2, addr3] */
export type AddrWords = readonly [number, number, number, number, number];

/**
 * Senders remembered per family: the last ADDR_GENERATION distinct ones, and up to as many before them (RecentMap).
 * Every sender of a working set up to this size (a lighthouse's tunnels, each heard from every few seconds) is found
 * again, and a flood of spoofed sources costs at most twice this many entries (~130 bytes each). One table cleared
 * at 4096 made a lighthouse of 10k nodes build a new UdpAddr (a string, an object, Map and WeakMap entries, garbage
 * once the table was cleared) for nearly every datagram.
 */
export const ADDR_GENERATION = 65536;

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

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

export class AddrTable {
  private readonly v4: RecentMap<number, UdpAddr>;
  private readonly v6: RecentMap<string, UdpAddr>;
  /** Filled when we first send to an address (toWords), not on receipt: most senders are only answered by tunnel. */
  private readonly words = new WeakMap<UdpAddr, AddrWords | null>();

  constructor(generation = ADDR_GENERATION) {
    this.v4 = new RecentMap(generation);
    this.v6 = new RecentMap(generation);
  }

  /** The sender in record `r` of `meta` (words r+2 .. r+7). */
  fromRecord(meta: Uint32Array, r: number): UdpAddr {
    const port = meta[r + 3];
    if ((meta[r + 2] & 0xff) === 4) {
      const ip = meta[r + 4];
      const key = ip * 65536 + port;
      let addr = this.v4.get(key);
      if (addr === undefined) {
        addr = { address: formatIpv4(ip), port };
        this.v4.add(key, addr);
      }
      return addr;
    }
    const w: AddrWords = [6, meta[r + 4], meta[r + 5], meta[r + 6], meta[r + 7]];
    const address = formatIpv6(w);
    const key = `${address}/${port}`;
    let addr = this.v6.get(key);
    if (addr === undefined) {
      addr = { address, port };
      this.v6.add(key, addr);
    }
    return addr;
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

/** RFC 5952 text of the four address words (pkg/ip/ipv6.ts writes it as Go's netip does). */
export function formatIpv6(w: AddrWords): string {
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    groups[2 * i] = w[i + 1] >>> 16;
    groups[2 * i + 1] = w[i + 1] & 0xffff;
  }
  return formatIpv6Groups(groups);
}
