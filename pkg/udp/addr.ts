// Underlay (UDP) addresses. IPv4-mapped IPv6 forms from a dual-stack socket are folded to plain IPv4 so that one
// peer never has two spellings.

import { isIPv4, isIPv6 } from 'node:net';

export interface UdpAddr {
  readonly address: string;
  readonly port: number;
}

export class UdpAddrError extends Error {
  override name = 'UdpAddrError';
  readonly code = 'EUDPADDR';
}

export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export function udpAddr(address: string, port: number): UdpAddr {
  return { address: normalizeAddress(address), port };
}

export function isIpv6Addr(a: UdpAddr): boolean {
  return isIPv6(a.address);
}

export function addrKey(a: UdpAddr): string {
  return isIPv6(a.address) ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export function sameAddr(a: UdpAddr | null | undefined, b: UdpAddr | null | undefined): boolean {
  return !!a && !!b && a.port === b.port && a.address === b.address;
}

/** Parses "1.2.3.4:4242" or "[::1]:4242" (no DNS: names are resolved by the caller at load time). */
export function parseUdpAddr(text: string): UdpAddr {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new UdpAddrError(`invalid host:port ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port > 65535) throw new UdpAddrError(`invalid port in ${JSON.stringify(text)}`);
  return udpAddr(m[1], port);
}
