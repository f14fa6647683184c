// The metric families of a running node, read at scrape time: every named counter (each label value one series),
// handshake failures by reason (drawn from the same counters), live gauges for tunnels by path, pending
// handshakes and relays, and monotonic traffic totals.

import type { VpnIp } from '../ip/vpn-ip.js';
import type { Counters } from './counters.js';
import { metricName, type MetricFamily, type Sample } from './exposition.js';
import { TrafficTotals, type TunnelTraffic } from './traffic-totals.js';

export interface MetricsSource {
  readonly counters: Counters;
  /** Each tunnel once, under its primary address (HostMap.byPrimary; byVpnIp repeats a host with several addresses). */
  readonly hostmap: { readonly byPrimary: ReadonlyMap<VpnIp, TunnelTraffic & { readonly remote: unknown }> };
  readonly handshakes: { readonly pending: { readonly size: number } };
  readonly relays: { readonly table: { readonly byIndex: ReadonlyMap<number, { readonly terminal: boolean }> } };
}

/** Counter name in Counters -> metric (without prefix), its label's name and help. Unknown names still export. */
const KNOWN: Record<string, { metric: string; label: string; help: string }> = {
  handshakes: {
    metric: 'handshakes_total',
    label: 'result',
    help: 'Handshake events: started, ok, timeout, retransmit-answered.',
  },
  drops: {
    metric: 'drops_total',
    label: 'reason',
    help: 'Packets dropped, by reason (firewall-*, outside-replay, outside-decrypt, outside-unknown-index, ...).',
  },
  lighthouse: {
    metric: 'lighthouse_messages_total',
    label: 'event',
    help: 'Lighthouse messages sent and handled, by kind (query, query-sent, reply, update, ...).',
  },
  relay: { metric: 'relay_events_total', label: 'event', help: 'Relay use: packets forwarded and relay setup events.' },
  'tunnels-closed': { metric: 'tunnels_closed_total', label: 'reason', help: 'Tunnels closed, by reason.' },
  'tunnels-replaced': {
    metric: 'tunnels_replaced_total',
    label: 'label',
    help: 'Tunnels replaced by a newer handshake with the same peer.',
  },
  'tunnels-dead': {
    metric: 'tunnels_dead_total',
    label: 'label',
    help: 'Tunnels removed because the peer stopped answering.',
  },
  roams: { metric: 'roams_total', label: 'label', help: 'Peers that moved to a new underlay address.' },
  'recv-errors': { metric: 'recv_errors_total', label: 'label', help: 'recv_error messages received.' },
  'warm-up': {
    metric: 'warm_up_total',
    label: 'outcome',
    help: 'The start-up warm-up: done, timed-out or failed (at most one per process).',
  },
  'warm-up-again': {
    metric: 'warm_up_again_total',
    label: 'outcome',
    help: 'The warm-up run again after major GCs may have discarded its code: done, timed-out, failed or skipped.',
  },
};

/** Handshake drops that mean a handshake failed (the rest are duplicates and races, harmless). */
const HANDSHAKE_FAILURES = ['invalid', 'wrong-host', 'self', 'too-old', 'remote-denied'];

function series(byLabel: Record<string, number>, labelName: string): Sample[] {
  return Object.entries(byLabel).map(([label, value]) => ({
    labels: label === '' ? {} : { [labelName]: label },
    value,
  }));
}

export class NodeMetrics {
  private readonly traffic = new TrafficTotals();

  constructor(
    private readonly source: MetricsSource,
    /** `stats.namespace` and `stats.subsystem` joined with `_`; "mesh" when both are empty. */
    private readonly prefix: string,
  ) {}

  /** Folds the tunnels' traffic into the totals; called every stats.interval and at each scrape. */
  sampleTraffic(): void {
    this.traffic.sample(this.source.hostmap.byPrimary.values());
  }

  families(): MetricFamily[] {
    const p = (name: string): string => metricName(`${this.prefix}_${name}`);
    const snap = this.source.counters.snapshot();
    const out: MetricFamily[] = [];
    for (const [name, byLabel] of Object.entries(snap).sort(([a], [b]) => a.localeCompare(b))) {
      const known = KNOWN[name] ?? { metric: `${name}_total`, label: 'label', help: `Count of ${name} events.` };
      out.push({ name: p(known.metric), help: known.help, type: 'counter', samples: series(byLabel, known.label) });
    }
    const failures: Record<string, number> = {};
    if (snap.handshakes?.timeout) failures.timeout = snap.handshakes.timeout;
    for (const reason of HANDSHAKE_FAILURES) {
      const n = snap.drops?.[`handshake-${reason}`];
      if (n) failures[reason] = n;
    }
    out.push({
      name: p('handshake_failures_total'),
      help: 'Handshakes that failed, by reason.',
      type: 'counter',
      samples: series(failures, 'reason'),
    });

    const hosts = [...this.source.hostmap.byPrimary.values()];
    const direct = hosts.filter((h) => h.remote !== null).length;
    out.push({
      name: p('tunnels'),
      help: 'Established tunnels, by path.',
      type: 'gauge',
      samples: [
        { labels: { path: 'direct' }, value: direct },
        { labels: { path: 'relayed' }, value: hosts.length - direct },
      ],
    });
    out.push({
      name: p('handshakes_pending'),
      help: 'Handshakes started and not yet answered.',
      type: 'gauge',
      samples: [{ labels: {}, value: this.source.handshakes.pending.size }],
    });
    const relays = [...this.source.relays.table.byIndex.values()];
    const terminal = relays.filter((r) => r.terminal).length;
    out.push({
      name: p('relays'),
      help: 'Relay entries: terminal (we are an end) and forwarding (we relay for others).',
      type: 'gauge',
      samples: [
        { labels: { kind: 'terminal' }, value: terminal },
        { labels: { kind: 'forwarding' }, value: relays.length - terminal },
      ],
    });

    const t = this.traffic.sample(hosts);
    const dir = (inValue: number, outValue: number): Sample[] => [
      { labels: { direction: 'in' }, value: inValue },
      { labels: { direction: 'out' }, value: outValue },
    ];
    out.push({
      name: p('packets_total'),
      help: 'Tunnel packets received and sent (all message types).',
      type: 'counter',
      samples: dir(t.packetsIn, t.packetsOut),
    });
    out.push({
      name: p('bytes_total'),
      help: 'Tunnel payload bytes received and sent.',
      type: 'counter',
      samples: dir(t.bytesIn, t.bytesOut),
    });
    return out;
  }
}

export function metricsPrefix(namespace: string, subsystem: string): string {
  const parts = [namespace, subsystem].filter((s) => s !== '');
  return parts.length === 0 ? 'mesh' : parts.join('_');
}
