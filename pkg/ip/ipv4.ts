// IPv4 addresses as uint32 numbers (the four bytes read big-endian), the form Nebula puts on the wire
// ("VpnIp"), plus CIDR networks. Shared by cert, config, firewall, hostmap and lighthouse.

export type Ipv4 = number;

/** An IPv4 network: `ip` may keep host bits (host certs do); `mask` is a contiguous prefix mask. */
export interface Ipv4Net {
  ip: Ipv4;
  mask: number;
}

export class IpParseError extends Error {
  override name = 'IpParseError';
  readonly code = 'EIPPARSE';
}

export function parseIpv4(text: string): Ipv4 {
  const v = dottedQuad(text.trim());
  if (v < 0) throw new IpParseError(`invalid IPv4 address: ${JSON.stringify(text)}`);
  return v;
}

/**
 * `text` as a uint32 when it is four dot-separated decimal octets of 1 to 3 digits, each at most 255, else -1: parseIpv4
 * without its trim and its throw, for callers that judge many strings (a lighthouse reads every reported address).
 */
export function dottedQuad(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 0x2e && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

export function formatIpv4(ip: Ipv4): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function prefixToMask(bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new IpParseError(`invalid prefix length: ${bits}`);
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Prefix length of a mask, or -1 when the mask is not a contiguous run of leading ones. */
export function maskToPrefix(mask: number): number {
  const m = mask >>> 0;
  const inverted = ~m >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return -1;
  return Math.clz32(inverted);
}

/** Parses "a.b.c.d/n". Host bits are kept (`10.1.2.3/16` stays 10.1.2.3). */
export function parseCidr(text: string): Ipv4Net {
  const slash = text.indexOf('/');
  if (slash < 0) throw new IpParseError(`invalid CIDR (missing /prefix): ${JSON.stringify(text)}`);
  const ip = parseIpv4(text.slice(0, slash));
  const bitsText = text.slice(slash + 1).trim();
  if (!/^\d{1,2}$/.test(bitsText)) throw new IpParseError(`invalid CIDR prefix: ${JSON.stringify(text)}`);
  return { ip, mask: prefixToMask(Number(bitsText)) };
}

export function formatCidr(net: Ipv4Net): string {
  return `${formatIpv4(net.ip)}/${maskToPrefix(net.mask)}`;
}

export function networkOf(net: Ipv4Net): Ipv4Net {
  return { ip: (net.ip & net.mask) >>> 0, mask: net.mask >>> 0 };
}

export function netContains(net: Ipv4Net, ip: Ipv4): boolean {
  return (ip & net.mask) >>> 0 === (net.ip & net.mask) >>> 0;
}

/** Reads 4 bytes big-endian at `offset`. */
export function readIpv4(buf: Uint8Array, offset: number): Ipv4 {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
}
