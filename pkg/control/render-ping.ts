// `mesh ping` lines: one per reply with its RTT and path, a note when the path changes (say relayed -> direct),
// and a summary.

import type { PingReply } from './reports.js';
import { formatRtt } from './text-table.js';

export function pathLabel(r: Pick<PingReply, 'path' | 'remote' | 'via' | 'overTcp'>): string {
  const label = r.path === 'direct' ? `direct ${r.remote ?? ''}`.trimEnd() : `relayed via ${r.via ?? '?'}`;
  return r.overTcp ? `${label} over tcp` : label;
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

/** ping(8)'s closing lines: what was sent and received, the time taken, and the RTT spread (mdev: the standard deviation). */
export function renderPingSummary(target: string, sent: number, rtts: number[], elapsedMs: number): string {
  const lossPercent = sent === 0 ? 0 : Number((((sent - rtts.length) / sent) * 100).toPrecision(6));
  let out = `--- ${target} ping statistics ---\n`;
  out += `${sent} packets transmitted, ${rtts.length} received, ${lossPercent}% packet loss, time ${Math.round(elapsedMs)}ms\n`;
  if (rtts.length > 0) {
    const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    const mdev = Math.sqrt(Math.max(0, rtts.reduce((a, b) => a + b * b, 0) / rtts.length - avg * avg));
    const ms = [Math.min(...rtts), avg, Math.max(...rtts), mdev].map((v) => v.toFixed(3));
    out += `rtt min/avg/max/mdev = ${ms.join('/')} ms\n`;
  }
  return out;
}
