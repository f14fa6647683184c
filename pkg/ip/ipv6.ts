// IPv6 text, the one parser and one formatter in the tree (underlay records, lighthouse messages, allow lists and
// certificate networks all go through here), and IPv6 addresses as 128-bit numbers (lighthouse messages carry them
// as two uint64 halves; allow lists and address ordering compare them).
//
// Accepted text is what node's net.isIPv6 accepts less zones ("fe80::1%eth0"), which no caller can use: eight
// groups of 1-4 hex digits, one "::" standing for at least one zero group, the last two groups optionally a dotted
// quad without leading zeros. Written text is RFC 5952's canonical form as Go's netip writes it, so what we print
// matches what Nebula prints: lowercase, no leading zeros, the longest run of two or more zero groups (the first
// one on a tie) as "::", and an IPv4-mapped address as ::ffff:a.b.c.d.

export class Ipv6TextError extends Error {
  override name = 'Ipv6TextError';
  readonly code = 'EIPV6';
}

/** ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255; anything longer is refused before it is looked at. */
const MAX_TEXT_LENGTH = 45;

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'; // 0-255, no leading zero
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87; // a-f, A-F
  return -1;
}

/** The eight 16-bit groups of IPv6 text, or null when it is not an IPv6 address (or carries a zone). */
export function parseIpv6Groups(text: string): Uint16Array | null {
  if (text.length < 2 || text.length > MAX_TEXT_LENGTH) return null;
  const groups = new Uint16Array(8);
  let count = 0;
  let ellipsis = -1; // index of the first group "::" stands for
  let i = 0;
  if (text[0] === ':') {
    if (text[1] !== ':') return null;
    ellipsis = 0;
    i = 2;
  }
  while (i < text.length) {
    const start = i;
    let value = 0;
    while (i < text.length) {
      const digit = hexValue(text.charCodeAt(i));
      if (digit < 0) break;
      if (i - start === 4) return null; // a fifth digit
      value = value * 16 + digit;
      i++;
    }
    if (i === start) return null;
    if (text[i] === '.') {
      // A dotted quad ends the address and fills two groups.
      const quad = DOTTED_QUAD.exec(text.slice(start));
      if (quad === null || count > 6) return null;
      groups[count++] = (Number(quad[1]) << 8) | Number(quad[2]);
      groups[count++] = (Number(quad[3]) << 8) | Number(quad[4]);
      break;
    }
    if (count === 8) return null;
    groups[count++] = value;
    if (i === text.length) break;
    if (text[i] !== ':') return null;
    i++;
    if (text[i] === ':') {
      if (ellipsis >= 0) return null;
      ellipsis = count;
      i++;
    } else if (i === text.length) {
      return null; // a single trailing colon
    }
  }
  if (ellipsis < 0) return count === 8 ? groups : null;
  if (count > 7) return null; // "::" must stand for at least one group
  const tail = count - ellipsis;
  groups.copyWithin(8 - tail, ellipsis, count);
  groups.fill(0, ellipsis, 8 - tail);
  return groups;
}

/** Canonical text of eight 16-bit groups (see the top of this file). */
export function formatIpv6Groups(groups: ArrayLike<number>): string {
  const mapped = groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0;
  if (mapped && groups[5] === 0xffff) {
    const hi = groups[6];
    const lo = groups[7];
    return `::ffff:${hi >>> 8}.${hi & 0xff}.${lo >>> 8}.${lo & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a lone zero group stays "0"
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => {
    let s = '';
    for (let k = from; k < to; k++) s += (k > from ? ':' : '') + groups[k].toString(16);
    return s;
  };
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** Throws Ipv6TextError when `address` is not IPv6 text. */
export function ipv6ToBigInt(address: string): bigint {
  const groups = parseIpv6Groups(address);
  if (groups === null) throw new Ipv6TextError(`invalid IPv6 address: ${JSON.stringify(address)}`);
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** `value` taken modulo 2^128. */
export function bigIntToIpv6(value: bigint): string {
  const groups = new Uint16Array(8);
  for (let i = 7; i >= 0; i--) {
    groups[i] = Number(value & 0xffffn);
    value >>= 16n;
  }
  return formatIpv6Groups(groups);
}
