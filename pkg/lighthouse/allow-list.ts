// lighthouse.remote_allow_list / local_allow_list CIDR rules, as in Nebula: the most specific matching entry
// wins; when every entry has the same value the catch-all (0.0.0.0/0, ::/0) gets the opposite one; IPv4 and IPv6
// are judged separately. Addresses are compared as 128-bit numbers so one code path serves both families.

import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv4 } from '../ip/ipv4.js';
import { ipv6ToBigInt } from '../ip/ipv6.js';
import { normalizeAddress } from '../udp/addr.js';

interface Entry {
  v6: boolean;
  net: bigint;
  bits: number;
  allow: boolean;
}

export class AllowListError extends Error {
  override name = 'AllowListError';
  readonly code = 'EALLOWLIST';
}

function toBig(address: string): { v6: boolean; value: bigint } {
  if (isIPv4(address)) return { v6: false, value: BigInt(parseIpv4(address)) };
  if (!isIPv6(address)) throw new AllowListError(`invalid address ${JSON.stringify(address)}`);
  return { v6: true, value: ipv6ToBigInt(address) };
}

function matches(e: Entry, v6: boolean, value: bigint): boolean {
  if (e.v6 !== v6) return false;
  const width = v6 ? 128 : 32;
  const shift = BigInt(width - e.bits);
  return value >> shift === e.net >> shift;
}

export class AllowList {
  private readonly entries: Entry[] = [];

  /** `rules` maps CIDR text to allow (true) or deny (false). An empty list allows everything. */
  constructor(rules: Record<string, boolean> | Map<string, boolean> | undefined) {
    const list = rules instanceof Map ? [...rules] : Object.entries(rules ?? {});
    for (const [cidr, allow] of list) {
      const [addr, bitsText] = cidr.split('/');
      const { v6, value } = toBig(addr);
      const bits = bitsText === undefined ? (v6 ? 128 : 32) : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > (v6 ? 128 : 32))
        throw new AllowListError(`invalid CIDR ${cidr}`);
      this.entries.push({ v6, net: value, bits, allow });
    }
    for (const v6 of [false, true]) {
      const family = this.entries.filter((e) => e.v6 === v6);
      if (family.length > 0 && !family.some((e) => e.bits === 0) && family.every((e) => e.allow === family[0].allow)) {
        this.entries.push({ v6, net: 0n, bits: 0, allow: !family[0].allow });
      }
    }
    this.entries.sort((a, b) => b.bits - a.bits);
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  allows(address: string): boolean {
    if (this.entries.length === 0) return true;
    // Addresses are folded where they enter (udp/addr.ts); folding again here keeps a missed entry point from
    // judging ::ffff:a.b.c.d by the IPv6 rules while packets go to a.b.c.d.
    const { v6, value } = toBig(normalizeAddress(address));
    for (const e of this.entries) if (matches(e, v6, value)) return e.allow;
    return true;
  }
}
