// `mesh ping` lines: one per reply with its RTT and path, a note when the path changes (say relayed -> direct),
// and a summary.

import type { PingReply } from './reports.js';
import { formatRtt } from './text-table.js';

export function pathLabel(r: Pick<PingReply, 'path' | 'remote' | 'via'>): string {
  return r.path === 'direct' ? `direct ${r.remote ?? ''}`.trimEnd() : `relayed via ${r.via ?? '?'}`;
}

export function renderPingReply(r: PingReply, seq: number): string {
  return `reply from ${r.name} (${r.vpnIp}): seq=${seq} rtt=${formatRtt(r.rttMs)} path=${pathLabel(r)}\n`;
}

/** A line when the path differs from the previous reply's, or '' when it did not change. */
export function renderPathChange(previous: PingReply | null, current: PingReply): string {
  if (previous === null) return '';
  const before = pathLabel(previous);
  const after = pathLabel(current);
  return before === after ? '' : `path changed: ${before} -> ${after}\n`;
}

export function renderPingSummary(target: string, sent: number, rtts: number[]): string {
  const lost = sent - rtts.length;
  let out = `--- ${target}: ${sent} sent, ${rtts.length} received, ${sent === 0 ? 0 : Math.round((lost / sent) * 100)}% lost`;
  if (rtts.length > 0) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    out += `, rtt min/avg/max ${formatRtt(min)}/${formatRtt(avg)}/${formatRtt(max)}`;
  }
  return out + '\n';
}
