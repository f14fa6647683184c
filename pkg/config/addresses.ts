// Syntax checks for the addresses config.yml holds. Nothing here resolves DNS: names are checked for shape only and
// resolved later by the code that dials them.

import { isIP } from 'node:net';
import { formatIpv4, parseCidr as parseIpv4Cidr, parseIpv4 } from '../ip/ipv4.js';
import { parseIpPrefix } from '../ip/prefix.js';
import { formatVpnIp, parseVpnIp } from '../ip/vpn-ip.js';

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Canonical dotted form of an IPv4 address, or undefined. */
export function canonicalIpv4(text: string): string | undefined {
  try {
    return formatIpv4(parseIpv4(text));
  } catch {
    return undefined;
  }
}

/**
 * Canonical text of an overlay address of either family (dotted quad, or RFC 5952 IPv6; ::ffff:a.b.c.d is the IPv4
 * address), or undefined. Overlay addresses have no zone.
 */
export function canonicalVpnIp(text: string): string | undefined {
  if (!text.includes(':')) return canonicalIpv4(text);
  if (text.includes('%')) return undefined;
  try {
    return formatVpnIp(parseVpnIp(text));
  } catch {
    return undefined;
  }
}

/** Whether `text` is an overlay CIDR: an IPv4 one as parseCidr reads it, or an IPv6 one (IPv6 overlays, v2 certs). */
export function isVpnCidr(text: string): boolean {
  try {
    if (!text.includes(':')) {
      parseIpv4Cidr(text);
      return true;
    }
    return !text.includes('%') && parseIpPrefix(text).addr.family === 6;
  } catch {
    return false;
  }
}

/** Splits `host:port` / `[v6]:port` like Go's net.SplitHostPort, then checks the host's shape and the port's range.
 * Returns an explanation string on failure. */
export function parseHostPort(text: string): HostPort | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return 'missing "]" in address';
    host = text.slice(1, close);
    if (text[close + 1] !== ':') return 'missing port in address';
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return `"${host}" inside [] is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'missing port in address';
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return 'too many colons in address (write IPv6 as [addr]:port)';
    if (!isHostname(host)) return `"${host}" is not an IPv4 address or a host name`;
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return `port "${portText}" is not 0-65535`;
  return { host, port: Number(portText) };
}

/** An IPv4 address or something shaped like a DNS name (not resolved here). */
/** `listen.host` as a socket wants it: an IPv6 literal may be written in brackets (`[::]`), as in a URL. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function isHostname(host: string): boolean {
  // Something that looks like an IPv4 address must be one ("1.2.3.999" is a typo, not a name).
  if (/^[\d.]+$/.test(host)) return isIP(host) === 4;
  return HOSTNAME.test(host);
}

/** Checks `ip/prefix` for IPv4 or IPv6 (host bits allowed, as Go's net.ParseCIDR does). Returns the family or an
 * explanation string. */
export function checkCidr(text: string): 4 | 6 | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'missing /prefix';
  const family = isIP(text.slice(0, slash));
  if (family === 0) return `"${text.slice(0, slash)}" is not an IP address`;
  if (text.includes('%')) return 'a CIDR has no zone'; // as Go's net.ParseCIDR; isIP accepts "fe80::1%eth0"
  const prefix = text.slice(slash + 1);
  const maxBits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > maxBits) return `prefix "/${prefix}" is not 0-${maxBits}`;
  return family as 4 | 6;
}

/** True when `text` is a CIDR whose prefix length is 0 (0.0.0.0/0, ::/0, and also e.g. 10.0.0.0/0). */
export function isDefaultRoute(text: string): boolean {
  return /\/0*0$/.test(text);
}
