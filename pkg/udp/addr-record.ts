// Underlay addresses as the addon's per-datagram records carry them (pkg/tun/native/udp.c): a family word and
// four address words, IPv4 in the first as a uint32, IPv6 as four big-endian 32-bit words.
//
// Turning numbers into a UdpAddr costs a string per packet, and a string into numbers a parse per packet, so both
// directions are remembered: a sender seen again gets the very same UdpAddr object back (sameAddr is then a cheap
// comparison, and a roam check allocates nothing), and an address we send to is parsed once.

import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv4, parseIpv4 } from '../ip/ipv4.js';
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
  if (!isIPv6(address) || address.includes('%')) return null;
  const hextets = parseIpv6(address);
  const words = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) words[i] = ((hextets[2 * i] << 16) | hextets[2 * i + 1]) >>> 0;
  // An IPv4-mapped address is that IPv4 address: one peer, one spelling (see addr.ts).
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return [4, words[3], 0, 0, 0];
  return [6, words[0], words[1], words[2], words[3]];
}

/** Eight hextets of a valid IPv6 literal (isIPv6 checked), '::' expanded and a dotted IPv4 tail folded in. */
function parseIpv6(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  if (rest === undefined) return left;
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 text, as the kernel's inet_ntop (and so node:dgram) writes it: lowercase, longest zero run as '::'. */
export function formatIpv6(w: AddrWords): string {
  const h: number[] = [];
  for (let i = 1; i <= 4; i++) h.push(w[i] >>> 16, w[i] & 0xffff);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (h[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number): string => h.slice(a, b).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
