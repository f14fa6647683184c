// The hosts other lighthouses of the tier serve, as read from the bucket (docs/lighthouse-tier.md): by bucket key
// for lookups, and by lowercased certificate name for serve_dns, the two kept in step, so that a DNS question costs
// the same whether the tier holds ten hosts or the cache's whole bound (a walk of every record per query would let
// anyone who can reach serve_dns spend our CPU).

import type { RemoteHost } from './store.js';

/** Records looked at per name when DNS asks: many records may carry one name, an answer needs a few. */
export const MAX_PER_NAME_EXAMINED = 32;

/**
 * Heap a cached record takes, estimated on the high side from its shape (per address, per relay or overlay address,
 * the name): 10 KB for the largest record (21 addresses, 32 relays, 8 overlay addresses, a 253-character name; 9.5 KB
 * without the overlay addresses), 1.3 KB for a typical one (3 addresses, no
 * relay, a short name). Measured in node 20 for such objects built directly: 4.1 KB and 0.6 KB; the review measured
 * ~9.8 KB for the largest as the decoder leaves it.
 */
export function recordCost(host: RemoteHost): number {
  const addrs = host.reported.length + (host.learned ? 1 : 0);
  return 512 + 250 * addrs + 100 * (host.relays.length + (host.vpnAddrs?.length ?? 0)) + 2 * (host.name?.length ?? 0);
}

/** Lowercases ASCII only, as DNS compares names (RFC 4343). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export class RemoteCache {
  private readonly byKey = new Map<string, RemoteHost>();
  private readonly byName = new Map<string, Set<string>>();
  private heap = 0;

  /** At most `maxHosts` records and `maxBytes` of them by recordCost, whichever comes first. */
  constructor(
    private readonly fresh: (host: RemoteHost) => boolean,
    private readonly maxHosts = Infinity,
    private readonly maxBytes = Infinity,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** The records' estimated heap (recordCost). */
  get bytes(): number {
    return this.heap;
  }

  /** Whether `host` may be set under `key` within both bounds (replacing what `key` holds now). */
  fits(key: string, host: RemoteHost): boolean {
    const old = this.byKey.get(key);
    if (!old && this.byKey.size >= this.maxHosts) return false;
    return this.heap - (old ? recordCost(old) : 0) + recordCost(host) <= this.maxBytes;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): RemoteHost | undefined {
    return this.byKey.get(key);
  }

  set(key: string, host: RemoteHost): void {
    this.delete(key);
    this.byKey.set(key, host);
    this.heap += recordCost(host);
    if (host.name === undefined) return;
    const name = asciiLower(host.name);
    let keys = this.byName.get(name);
    if (!keys) this.byName.set(name, (keys = new Set()));
    keys.add(key);
  }

  delete(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.byKey.delete(key);
    this.heap -= recordCost(old);
    if (old.name === undefined) return;
    const name = asciiLower(old.name);
    const keys = this.byName.get(name);
    keys?.delete(key);
    if (keys?.size === 0) this.byName.delete(name);
  }

  /** Drops every record that is no longer fresh (walks the whole cache: callers bound how often). */
  sweep(): void {
    for (const [key, host] of this.byKey) if (!this.fresh(host)) this.delete(key);
  }

  /** The fresh hosts whose name is `name` (any ASCII case), at most MAX_PER_NAME_EXAMINED records looked at. */
  *named(name: string): Iterable<RemoteHost> {
    const keys = this.byName.get(asciiLower(name));
    if (!keys) return;
    let examined = 0;
    for (const key of keys) {
      if (examined++ >= MAX_PER_NAME_EXAMINED) return;
      const host = this.byKey.get(key);
      if (host && this.fresh(host)) yield host;
    }
  }

  *values(): Iterable<RemoteHost> {
    for (const host of this.byKey.values()) if (this.fresh(host)) yield host;
  }
}
