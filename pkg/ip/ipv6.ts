// IPv6 addresses as 128-bit numbers (lighthouse messages carry them as two uint64 halves; allow lists and address
// ordering compare them), and back to canonical RFC 5952 text.

export function ipv6ToBigInt(address: string): bigint {
  const text = canonicalIpv6(address);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function bigIntToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/** The URL parser writes IPv6 in canonical form (and folds an embedded IPv4 tail into hex groups). */
export function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
