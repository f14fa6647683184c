// Named counters with one label value each (a drop reason, a message type). The control socket and the
// Prometheus exporter read them; the hot path only increments.

export class Counters {
  private readonly values = new Map<string, Map<string, number>>();

  inc(name: string, label = '', by = 1): void {
    let byLabel = this.values.get(name);
    if (!byLabel) {
      byLabel = new Map();
      this.values.set(name, byLabel);
    }
    byLabel.set(label, (byLabel.get(label) ?? 0) + by);
  }

  get(name: string, label = ''): number {
    return this.values.get(name)?.get(label) ?? 0;
  }

  /** name -> label -> value, for status output and exporters. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [name, byLabel] of this.values) out[name] = Object.fromEntries(byLabel);
    return out;
  }
}
