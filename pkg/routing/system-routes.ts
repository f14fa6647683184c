// The routes learned from the system route table (tun.use_system_route_table): the kernel's routes through our TUN
// with a VPN gateway, kept as the kernel keeps them, by destination, table and metric. For a destination held
// several times (two tables, two metrics) the lowest metric is followed; a delete removes only the route it names,
// so the others stay. IPv4 and IPv6 routes are held apart, each indexed by prefix length: a lookup probes only the
// lengths in use, longest first (at most 33 map probes for IPv4, 129 for IPv6, whatever the table size). An IPv4
// network is keyed by its uint32, an IPv6 one by the hex digits its prefix covers: not a bigint, whose Map hash in
// V8 looks at the low bits only, so /64s (all zero there) would share one bucket (13 us a lookup at 2000 routes).
//
// Bounded (MAX_SYSTEM_ROUTES, both families together): beyond it a new route is refused and counted, so a routing
// daemon flooding the table cannot grow our memory without limit; routes already held still update and delete.

import { prefixToMask, type Ipv4 } from '../ip/ipv4.js';
import { formatIpPrefix, ipv4FromUint32, ipv6Addr, type IpPrefix } from '../ip/prefix.js';
import { vpnIpBytes } from '../ip/vpn-ip.js';
import { bucketGateways, type Gateway } from './ecmp.js';
import type { RouteChange, SystemGateway } from './netlink-route.js';

export const MAX_SYSTEM_ROUTES = 10_000;

export type ApplyResult = 'added' | 'replaced' | 'unchanged' | 'removed' | 'unknown' | 'full';

/** What tells two kernel routes apart (with the TOS, which nobody sets on these): destination, table, metric. */
export function routeKey(change: Pick<RouteChange, 'dst' | 'table' | 'metric'>): string {
  return `${formatIpPrefix(change.dst)} ${change.table}/${change.metric}`;
}

export interface LearnedRoute {
  readonly dst: IpPrefix;
  readonly gateways: readonly Gateway[];
}

interface Variant {
  readonly metric: number;
  /** As the kernel gave them, for a delete of some of them (IPv6). */
  readonly hops: readonly SystemGateway[];
  readonly gateways: Gateway[];
}

interface Held {
  /** `${table}/${metric}` -> its gateways. */
  readonly variants: Map<string, Variant>;
  /** The variant with the lowest metric: what lookups return. */
  best: Gateway[];
}

/** One family's routes by prefix length; K is the masked address (uint32 for IPv4, hex digits for IPv6). */
class PrefixIndex<A, K> {
  /** Per prefix length: network address -> the routes held for it. */
  readonly byLength = new Map<number, Map<K, Held>>();
  /** Prefix lengths in use, longest first. */
  lengths: number[] = [];

  /** `mask(addr, len)`: the key of the network of `len` bits holding `addr`. */
  constructor(readonly mask: (addr: A, len: number) => K) {}

  get(len: number, key: K): Held | undefined {
    return this.byLength.get(len)?.get(key);
  }

  set(len: number, key: K, held: Held): void {
    let nets = this.byLength.get(len);
    if (nets === undefined) {
      nets = new Map();
      this.byLength.set(len, nets);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    nets.set(key, held);
  }

  delete(len: number, key: K): void {
    const nets = this.byLength.get(len)!;
    nets.delete(key);
    if (nets.size > 0) return;
    this.byLength.delete(len);
    this.lengths = this.lengths.filter((l) => l !== len);
  }

  match(addr: A): { prefixLen: number; gateways: readonly Gateway[] } | null {
    for (const len of this.lengths) {
      const held = this.byLength.get(len)!.get(this.mask(addr, len));
      if (held !== undefined) return { prefixLen: len, gateways: held.best };
    }
    return null;
  }
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** 16 bytes as 32 hex digits. */
function hexOf(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b]!;
  return out;
}

/** The key of the /len network holding the address of 32 hex digits `hex`: the digits it covers, the last masked. */
function networkKey6(hex: string, len: number): string {
  const whole = len >> 2;
  const rest = len & 3;
  if (rest === 0) return hex.slice(0, whole);
  return hex.slice(0, whole) + (Number.parseInt(hex[whole]!, 16) & (0xf0 >> rest) & 0xf).toString(16);
}

/** The network address of a key (networkKey6), as 16 bytes. */
function bytesOfKey6(key: string): Uint8Array {
  const hex = key.padEnd(32, '0');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

export class SystemRouteTable {
  private readonly v4 = new PrefixIndex<number, number>((a, len) => (a & prefixToMask(len)) >>> 0);
  private readonly v6 = new PrefixIndex<string, string>(networkKey6);
  private count = 0;
  private changes = 0;

  constructor(private readonly max = MAX_SYSTEM_ROUTES) {}

  /** Kernel routes held (each destination/table/metric once). */
  get size(): number {
    return this.count;
  }

  /** Counts every change to what lookups return, so a caller may cache an answer until it moves. */
  get version(): number {
    return this.changes;
  }

  apply(change: RouteChange): ApplyResult {
    const result =
      change.dst.addr.family === 4
        ? this.applyTo(this.v4, bigEndianU32(change.dst.addr.bytes), change)
        : this.applyTo(this.v6, networkKey6(hexOf(change.dst.addr.bytes), change.dst.bits), change);
    if (result !== 'unchanged' && result !== 'unknown' && result !== 'full') this.changes++;
    return result;
  }

  private applyTo<A, K>(index: PrefixIndex<A, K>, key: K, change: RouteChange): ApplyResult {
    const len = change.dst.bits;
    const variantKey = `${change.table}/${change.metric}`;
    const held = index.get(len, key);
    const before = held?.variants.get(variantKey);
    if (change.kind !== 'add') {
      if (held === undefined || before === undefined) return 'unknown';
      const left = change.kind === 'delete-hops' ? withoutHops(before.hops, change.gateways) : [];
      if (left.length === before.hops.length) return 'unknown'; // none of the hops named is one we follow
      if (left.length > 0) {
        held.variants.set(variantKey, variant(change.metric, left));
        held.best = lowest(held);
        return 'replaced';
      }
      held.variants.delete(variantKey);
      this.count--;
      if (held.variants.size === 0) index.delete(len, key);
      else held.best = lowest(held);
      return 'removed';
    }
    const next = variant(change.metric, change.gateways);
    if (before !== undefined) {
      if (sameGateways(before.gateways, next.gateways)) return 'unchanged';
      held!.variants.set(variantKey, next);
      held!.best = lowest(held!);
      return 'replaced';
    }
    if (this.count >= this.max) return 'full';
    const target = held ?? { variants: new Map(), best: next.gateways };
    if (held === undefined) index.set(len, key, target);
    target.variants.set(variantKey, next);
    target.best = lowest(target);
    this.count++;
    return 'added';
  }

  /** The most specific learned IPv4 route holding `dst`: its prefix length and gateways, or null. */
  match(dst: Ipv4): { prefixLen: number; gateways: readonly Gateway[] } | null {
    return this.v4.match(dst);
  }

  /** The same for an IPv6 destination (a VpnIp's canonical text). */
  match6(dst: string): { prefixLen: number; gateways: readonly Gateway[] } | null {
    if (this.v6.lengths.length === 0) return null;
    return this.v6.match(hexOf(vpnIpBytes(dst)));
  }

  /** Every learned destination with the gateways followed (`mesh status`, tests): IPv4 first, longest first. */
  list(): LearnedRoute[] {
    const out: LearnedRoute[] = [];
    this.each((dst, held) => out.push({ dst, gateways: held.best }));
    return out;
  }

  /** Removes every route whose key (routeKey) is not in `keep`; returns those removed. */
  retainOnly(keep: ReadonlySet<string>): RouteChange[] {
    const removed: RouteChange[] = [];
    const gone: RouteChange[] = [];
    this.each((dst, held) => {
      for (const [variantKey, v] of held.variants) {
        const [table, metric] = variantKey.split('/').map(Number);
        const change: RouteChange = { kind: 'delete', dst, table: table!, metric: metric!, gateways: v.hops };
        if (!keep.has(routeKey(change))) gone.push(change);
      }
    });
    for (const change of gone) if (this.apply(change) === 'removed') removed.push(change);
    return removed;
  }

  private each(visit: (dst: IpPrefix, held: Held) => void): void {
    for (const len of this.v4.lengths)
      for (const [ip, held] of this.v4.byLength.get(len)!) visit({ addr: ipv4FromUint32(ip), bits: len }, held);
    for (const len of this.v6.lengths)
      for (const [key, held] of this.v6.byLength.get(len)!)
        visit({ addr: ipv6Addr(bytesOfKey6(key)), bits: len }, held);
  }
}

function bigEndianU32(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function variant(metric: number, hops: readonly SystemGateway[]): Variant {
  return { metric, hops, gateways: bucketGateways(hops) };
}

/** `hops` without those named in `gone` (by gateway: the kernel holds one next hop per gateway and device). */
function withoutHops(hops: readonly SystemGateway[], gone: readonly SystemGateway[]): SystemGateway[] {
  return hops.filter((h) => !gone.some((g) => g.vpnIp === h.vpnIp));
}

function sameGateways(a: readonly Gateway[], b: readonly Gateway[]): boolean {
  return a.length === b.length && a.every((g, i) => g.vpnIp === b[i]!.vpnIp && g.weight === b[i]!.weight);
}

function lowest(held: Held): Gateway[] {
  let best: Variant | null = null;
  for (const v of held.variants.values()) if (best === null || v.metric < best.metric) best = v;
  return best!.gateways;
}
