// IPv6 addresses and networks in the form the firewall compares on its hot path: an address is four big-endian
// 32-bit words, a network is its masked words plus the four word masks. Matching is four AND-compares, with no
// string and no allocation per packet; IpPrefix (pkg/ip/prefix.ts) is only read when rules or peers are built.
// See docs/ipv6.md.

import type { IpPrefix } from '../ip/prefix.js';
import { vpnIpBytes, type VpnIp } from '../ip/vpn-ip.js';

export interface Net6 {
  /** The network's address words, host bits cleared. */
  readonly words: Uint32Array;
  /** The prefix as four word masks. */
  readonly masks: Uint32Array;
  /** Prefix length, 0..128. */
  readonly bits: number;
}

/** Reads the 16 bytes at `off` into `out` as four words. */
export function readWords6(buf: Uint8Array, off: number, out: Uint32Array): void {
  for (let i = 0; i < 4; i++, off += 4) {
    out[i] = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
  }
}

export function net6(bytes: Uint8Array, bits: number): Net6 {
  if (bytes.length !== 16 || !Number.isInteger(bits) || bits < 0 || bits > 128) {
    throw new RangeError(`not an IPv6 network: ${bytes.length} bytes /${bits}`);
  }
  const words = new Uint32Array(4);
  const masks = new Uint32Array(4);
  readWords6(bytes, 0, words);
  for (let i = 0; i < 4; i++) {
    const b = Math.max(0, Math.min(32, bits - 32 * i));
    masks[i] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
    words[i] = (words[i] & masks[i]) >>> 0;
  }
  return { words, masks, bits };
}

/** An IPv6 prefix (host bits dropped); null for an IPv4 one. */
export function net6OfPrefix(p: IpPrefix): Net6 | null {
  return p.addr.family === 6 ? net6(p.addr.bytes, p.bits) : null;
}

/** The single-address network of an IPv6 VpnIp; null for an IPv4 one. */
export function net6OfVpnIp(ip: VpnIp): Net6 | null {
  return typeof ip === 'string' ? net6(vpnIpBytes(ip), 128) : null;
}

export function net6Contains(net: Net6, addr: Uint32Array): boolean {
  const w = net.words;
  const m = net.masks;
  return (
    (addr[0] & m[0]) >>> 0 === w[0] &&
    (addr[1] & m[1]) >>> 0 === w[1] &&
    (addr[2] & m[2]) >>> 0 === w[2] &&
    (addr[3] & m[3]) >>> 0 === w[3]
  );
}

export function anyNet6Contains(nets: readonly Net6[], addr: Uint32Array): boolean {
  for (const net of nets) if (net6Contains(net, addr)) return true;
  return false;
}
