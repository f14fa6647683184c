// contact-wire.ts on the cold-tunnel lab (lighthouse-lab.ts): where to capture, the hosts' names, and the stages'
// medians per run over a bench's trials.

import { CONTACT_STAGES, stageTimes, timeline, type WirePacket } from './contact-wire.js';
import type { LighthouseLab } from './lighthouse-lab.js';
import { median } from './proc-stats.js';

/**
 * a's and the contacted peer's underlay (every UDP datagram) and TUN (the echo request and reply). The peer is named
 * b in the stages whichever it is (c: latency.ts first --second).
 */
export function wirePoints(lhLab: LighthouseLab, peer: 'b' | 'c' = 'b') {
  const { a } = lhLab.hosts;
  return [
    { where: 'a.tun', host: a, dev: 'bencha', filter: 'icmp' },
    { where: 'a.eth', host: a, dev: 'eth0', filter: 'udp' },
    { where: 'b.eth', host: lhLab.hosts[peer], dev: 'eth0', filter: 'udp' },
    { where: 'b.tun', host: lhLab.hosts[peer], dev: `bench${peer}`, filter: 'icmp' },
  ];
}

/** Underlay address -> role, for naming datagrams; the contacted peer is b. */
export function wireNames(lhLab: LighthouseLab, peer: 'b' | 'c' = 'b'): Map<string, string> {
  const names = new Map(Object.entries(lhLab.hosts).map(([role, host]) => [host.ip, role]));
  if (peer !== 'b') {
    names.set(lhLab.hosts.b.ip, 'other');
    names.set(lhLab.hosts[peer].ip, 'b');
  }
  return names;
}

/** Every trial's stages by run label; prints each contact's packets as it comes. */
export class WireStages {
  private readonly byLabel = new Map<string, Array<Map<string, number>>>();

  add(label: string, trial: number, packets: readonly WirePacket[]): void {
    console.error(`  wire ${label} trial ${trial}: ${timeline(packets)}`);
    const list = this.byLabel.get(label) ?? [];
    list.push(stageTimes(packets));
    this.byLabel.set(label, list);
  }

  /** A table: each stage's median wall ms per run label (n = trials where both packets were seen). */
  summary(labels: readonly string[]): string {
    const head = `| stage (median wall ms, wire captures) | ${labels.join(' | ')} |`;
    const rows = CONTACT_STAGES.map((s) => {
      const cells = labels.map((label) => {
        const seen = (this.byLabel.get(label) ?? []).map((m) => m.get(s.name) ?? NaN).filter((v) => !Number.isNaN(v));
        return seen.length === 0 ? '-' : `${median(seen).toFixed(3)} (n=${seen.length})`;
      });
      return `| ${s.name} | ${cells.join(' | ')} |`;
    });
    return [head, `|---|${labels.map(() => '---|').join('')}`, ...rows].join('\n');
  }
}
