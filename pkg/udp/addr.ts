// Underlay (UDP) addresses. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any spelling) is folded to plain
// IPv4 wherever an address enters (a dual-stack socket, a lighthouse message, the config): one peer never has two
// spellings, and remote_allow_list, address ordering and the private-address checks see the IPv4 address that
// packets to it really reach (docs/security-model.md).

import { isIPv4 } from 'node:net';
import { formatIpv4 } from '../ip/ipv4.js';
import { parseAddrWords } from './addr-record.js';

export interface UdpAddr {
  readonly address: string;
  readonly port: number;
}

/** `address` with an IPv4-mapped IPv6 address in any spelling folded to IPv4; for addresses from messages and config. */
export function normalizeAddress(address: string): string {
  if (!address.includes(':')) return address;
  const folded = foldSocketSpelling(address);
  if (folded !== address) return folded;
  // Any other spelling (::ffff:102:304 from a lighthouse's 128-bit field, 0:0:0:0:0:FFFF:..., ...) has an ffff
  // hextet; only those are parsed.
  if (!MAPPED_HEXTET.test(address)) return address;
  const words = parseAddrWords(address);
  return words !== null && words[0] === 4 ? formatIpv4(words[1]) : address;
}

const MAPPED_HEXTET = /ffff/i;

/** What a dual-stack socket reports for an IPv4 sender: ::ffff:a.b.c.d, the only spelling inet_ntop gives it. */
function foldSocketSpelling(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** An address from a message, the config or a resolver: every spelling of an IPv4-mapped address is folded. */
export function udpAddr(address: string, port: number): UdpAddr {
  return { address: normalizeAddress(address), port };
}

/**
 * A sender's address as a socket reports it, per datagram: the kernel spells a mapped IPv4 sender only as
 * ::ffff:a.b.c.d, so that is all that is folded here, and a real IPv6 sender costs no regular expression.
 */
export function socketAddr(address: string, port: number): UdpAddr {
  return { address: foldSocketSpelling(address), port };
}

/**
 * The family of an address that is already a valid literal (every UdpAddr is: parsed from config or the wire, or
 * given by the kernel), so a colon is enough. node's isIPv6 runs a large regular expression whose first use costs
 * ~3 ms, which a node paid on its way to its first handshake.
 */
export function isIpv6Literal(address: string): boolean {
  return address.includes(':');
}

export function isIpv6Addr(a: UdpAddr): boolean {
  return isIpv6Literal(a.address);
}

export function addrKey(a: UdpAddr): string {
  return isIpv6Literal(a.address) ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export function sameAddr(a: UdpAddr | null | undefined, b: UdpAddr | null | undefined): boolean {
  return !!a && !!b && a.port === b.port && a.address === b.address;
}
