// Packets and bytes in and out as counters that never go down. Tunnels count their own traffic and take the
// figures with them when they close, so the totals add each tunnel's growth since the last sample, keyed by the
// tunnel's local index; a closed tunnel keeps what was sampled before it went (sample often: stats.interval).

export interface TunnelTraffic {
  readonly localIndex: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface Totals {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
}

const FIELDS = ['packetsIn', 'packetsOut', 'bytesIn', 'bytesOut'] as const;

export class TrafficTotals {
  private readonly seen = new Map<number, Totals>();
  private readonly sum: Totals = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };

  sample(tunnels: Iterable<TunnelTraffic>): Totals {
    const alive = new Set<number>();
    for (const t of tunnels) {
      alive.add(t.localIndex);
      const before = this.seen.get(t.localIndex);
      const now: Totals = {
        packetsIn: t.packetsIn,
        packetsOut: t.packetsOut,
        bytesIn: t.bytesIn,
        bytesOut: t.bytesOut,
      };
      for (const f of FIELDS) this.sum[f] += Math.max(0, now[f] - (before?.[f] ?? 0));
      this.seen.set(t.localIndex, now);
    }
    for (const index of [...this.seen.keys()]) if (!alive.has(index)) this.seen.delete(index);
    return { ...this.sum };
  }
}
