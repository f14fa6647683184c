// Pings after mixed idle gaps in ONE daemon process (bench/wake-probe.ts --gaps): what the idle gap itself costs a
// packet, apart from the process's state. Runs at different intervals compare processes that have run different
// numbers of packets (V8 optimizes a function after enough runs of it, so a pair pinged every 10 ms has optimized
// code within a second and one pinged every second has not after a minute); interleaving the gaps in one process
// holds that state equal between them. Each ping is its own `ping -c 1`, so the idle time before it is the gap plus
// the start of a ping process (a few ms): the gaps are lower bounds, which matters for the shortest.

import { median, quantile } from './proc-stats.js';

/** One echo request sent after `gapS` seconds of sleeping since the previous reply. */
export interface GapSample {
  gapS: number;
  /** undefined: no reply within the ping's timeout. */
  rttMs: number | undefined;
}

export interface GapRow {
  gapS: number;
  replies: number;
  lost: number;
  medianMs: number;
  p90Ms: number;
}

/** `--gaps 1,0.01,0.3`: the gaps in seconds, in the order each round sends them; each > 0 and at most 60 s. */
export function parseGaps(spec: string): number[] {
  const gaps = spec.split(',').map((s) => Number(s.trim()));
  for (const g of gaps)
    if (!Number.isFinite(g) || g <= 0 || g > 60) throw new Error(`--gaps: ${spec}: each gap is seconds in (0, 60]`);
  return gaps;
}

/** The order of the gaps over `rounds` rounds: the list repeated, so each gap follows the same neighbour every time. */
export function gapSchedule(gaps: readonly number[], rounds: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) out.push(...gaps);
  return out;
}

/** One row per distinct gap (in the order first seen): its replies' median and p90, and its requests that got none. */
export function summarizeByGap(samples: readonly GapSample[]): GapRow[] {
  const byGap = new Map<number, GapSample[]>();
  for (const s of samples) {
    const list = byGap.get(s.gapS);
    if (list === undefined) byGap.set(s.gapS, [s]);
    else list.push(s);
  }
  return [...byGap].map(([gapS, list]) => {
    const rtts = list.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs]));
    return {
      gapS,
      replies: rtts.length,
      lost: list.length - rtts.length,
      medianMs: median(rtts),
      p90Ms: quantile(rtts, 0.9),
    };
  });
}

/** `gap 1 s: median 0.851 p90 1.20 ms (30 replies)` per row, joined with ', '. */
export function describeGapRows(rows: readonly GapRow[]): string {
  return rows
    .map(
      (r) =>
        `gap ${r.gapS} s: median ${r.medianMs.toFixed(3)} p90 ${r.p90Ms.toFixed(2)} ms (${r.replies} replies` +
        `${r.lost > 0 ? `, ${r.lost} lost` : ''})`,
    )
    .join(', ');
}
