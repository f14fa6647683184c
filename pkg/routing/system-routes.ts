// The routes learned from the system route table (tun.use_system_route_table): the kernel's routes through our TUN
// with a VPN gateway, kept as the kernel keeps them, by destination, table and metric. For a destination held
// several times (two tables, two metrics) the lowest metric is followed; a delete removes only the route it names,
// so the others stay. Lookups go by prefix length, longest first, over only the lengths in use: at most 33 map
// probes per packet whatever the table size.
//
// Bounded (MAX_SYSTEM_ROUTES): beyond it a new route is refused and counted, so a routing daemon flooding the table
// cannot grow our memory without limit; routes already held still update and delete.

import type { Ipv4, Ipv4Net } from '../ip/ipv4.js';
import { maskToPrefix, prefixToMask } from '../ip/ipv4.js';
import { bucketGateways, type Gateway } from './ecmp.js';
import type { RouteChange, SystemGateway } from './netlink-route.js';

export const MAX_SYSTEM_ROUTES = 10_000;

export type ApplyResult = 'added' | 'replaced' | 'unchanged' | 'removed' | 'unknown' | 'full';

/** What tells two kernel routes apart (with the TOS, which nobody sets on these): destination, table, metric. */
export function routeKey(change: Pick<RouteChange, 'dst' | 'table' | 'metric'>): string {
  return `${change.dst.ip}/${maskToPrefix(change.dst.mask)} ${change.table}/${change.metric}`;
}

interface Held {
  /** `${table}/${metric}` -> its gateways. */
  readonly variants: Map<string, { metric: number; gateways: Gateway[] }>;
  /** The variant with the lowest metric: what lookups return. */
  best: Gateway[];
}

export class SystemRouteTable {
  /** Per prefix length: network address -> the routes held for it. */
  private readonly byLength = new Map<number, Map<Ipv4, Held>>();
  /** Prefix lengths in use, longest first. */
  private lengths: number[] = [];
  private count = 0;

  constructor(private readonly max = MAX_SYSTEM_ROUTES) {}

  /** Kernel routes held (each destination/table/metric once). */
  get size(): number {
    return this.count;
  }

  apply(change: RouteChange): ApplyResult {
    const len = maskToPrefix(change.dst.mask);
    const key = `${change.table}/${change.metric}`;
    let nets = this.byLength.get(len);
    let held = nets?.get(change.dst.ip);
    if (change.kind === 'delete') {
      if (held === undefined || !held.variants.delete(key)) return 'unknown';
      this.count--;
      if (held.variants.size === 0) {
        nets!.delete(change.dst.ip);
        if (nets!.size === 0) this.dropLength(len);
      } else {
        held.best = lowest(held);
      }
      return 'removed';
    }
    const gateways = bucketGateways(change.gateways);
    const before = held?.variants.get(key);
    if (before !== undefined) {
      if (sameGateways(before.gateways, gateways)) return 'unchanged';
      held!.variants.set(key, { metric: change.metric, gateways });
      held!.best = lowest(held!);
      return 'replaced';
    }
    if (this.count >= this.max) return 'full';
    if (nets === undefined) {
      nets = new Map();
      this.byLength.set(len, nets);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    if (held === undefined) {
      held = { variants: new Map(), best: gateways };
      nets.set(change.dst.ip, held);
    }
    held.variants.set(key, { metric: change.metric, gateways });
    held.best = lowest(held);
    this.count++;
    return 'added';
  }

  /** The most specific learned route holding `dst`: its prefix length and gateways, or null. */
  match(dst: Ipv4): { prefixLen: number; gateways: readonly Gateway[] } | null {
    for (const len of this.lengths) {
      const held = this.byLength.get(len)!.get((dst & prefixToMask(len)) >>> 0);
      if (held !== undefined) return { prefixLen: len, gateways: held.best };
    }
    return null;
  }

  /** Every learned destination with the gateways followed (`mesh status`, tests). */
  list(): Array<{ dst: Ipv4Net; gateways: readonly Gateway[] }> {
    const out: Array<{ dst: Ipv4Net; gateways: readonly Gateway[] }> = [];
    for (const len of this.lengths) {
      for (const [ip, held] of this.byLength.get(len)!)
        out.push({ dst: { ip, mask: prefixToMask(len) }, gateways: held.best });
    }
    return out;
  }

  /** Removes every route whose key (routeKey) is not in `keep`; returns those removed. */
  retainOnly(keep: ReadonlySet<string>): RouteChange[] {
    const removed: RouteChange[] = [];
    for (const len of [...this.lengths]) {
      for (const [ip, held] of [...this.byLength.get(len)!]) {
        for (const [variant, v] of [...held.variants]) {
          const [table, metric] = variant.split('/').map(Number);
          // Learned gateways are IPv4 (parsed from IPv4 route messages), so the narrowing holds.
          const gateways = v.gateways as readonly SystemGateway[];
          const change: RouteChange = {
            kind: 'delete',
            dst: { ip, mask: prefixToMask(len) },
            table: table!,
            metric: metric!,
            gateways,
          };
          if (keep.has(routeKey(change))) continue;
          this.apply(change);
          removed.push(change);
        }
      }
    }
    return removed;
  }

  private dropLength(len: number): void {
    this.byLength.delete(len);
    this.lengths = this.lengths.filter((l) => l !== len);
  }
}

function sameGateways(a: readonly Gateway[], b: readonly Gateway[]): boolean {
  return a.length === b.length && a.every((g, i) => g.vpnIp === b[i]!.vpnIp && g.weight === b[i]!.weight);
}

function lowest(held: Held): Gateway[] {
  let best: { metric: number; gateways: Gateway[] } | null = null;
  for (const v of held.variants.values()) if (best === null || v.metric < best.metric) best = v;
  return best!.gateways;
}
