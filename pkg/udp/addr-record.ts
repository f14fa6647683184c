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

/** Remembered senders per family before the table starts over (a flood of spoofed sources must not grow it). */
const TABLE_LIMIT = 4096;

export class AddrTable {
  private readonly v4 = new Map<number, UdpAddr>();
  private readonly v6 = new Map<string, UdpAddr>();
  private readonly words = new WeakMap<UdpAddr, AddrWords | null>();

  /** The sender in record `r` of `meta` (words r+2 .. r+7). */
  fromRecord(meta: Uint32Array, r: number): UdpAddr {
    const port = meta[r + 3];
    if ((meta[r + 2] & 0xff) === 4) {
      const ip = meta[r + 4];
      const key = ip * 65536 + port;
      let addr = this.v4.get(key);
      if (addr === undefined) {
        if (this.v4.size >= TABLE_LIMIT) this.v4.clear();
        addr = { address: formatIpv4(ip), port };
        this.v4.set(key, addr);
        this.words.set(addr, [4, ip, 0, 0, 0]);
      }
      return addr;
    }
    const w: AddrWords = [6, meta[r + 4], meta[r + 5], meta[r + 6], meta[r + 7]];
    const address = formatIpv6(w);
    const key = `${address}/${port}`;
    let addr = this.v6.get(key);
    if (addr === undefined) {
      if (this.v6.size >= TABLE_LIMIT) this.v6.clear();
      addr = { address, port };
      this.v6.set(key, addr);
      this.words.set(addr, w);
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
