// The hosts other lighthouses of the tier serve, as read from the bucket (docs/lighthouse-tier.md): by bucket key
// for lookups, and by lowercased certificate name for serve_dns, the two kept in step, so that a DNS question costs
// the same whether the tier holds ten hosts or the cache's whole bound (a walk of every record per query would let
// anyone who can reach serve_dns spend our CPU).

import type { RemoteHost } from './store.js';

/** Records looked at per name when DNS asks: many records may carry one name, an answer needs a few. */
export const MAX_PER_NAME_EXAMINED = 32;

/** Lowercases ASCII only, as DNS compares names (RFC 4343). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export class RemoteCache {
  private readonly byKey = new Map<string, RemoteHost>();
  private readonly byName = new Map<string, Set<string>>();

  constructor(private readonly fresh: (host: RemoteHost) => boolean) {}

  get size(): number {
    return this.byKey.size;
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
