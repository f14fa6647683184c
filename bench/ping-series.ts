// One ping run kept as a series: every reply with its sequence number and the wall-clock time it arrived (the
// output of the lab's ping with `timestamps`, test/e2e/lab/ping.ts), so a benchmark can split a fresh tunnel's first
// pings from its steady state and show where the slow replies sit (the first ones, periodic, or scattered) instead of
// folding them all into one p99.

export interface PingReply {
  /** icmp_seq: 1 for the first request sent. */
  seq: number;
  /** Wall-clock time the reply arrived, ms since the epoch (ping -D). */
  atMs: number;
  rttMs: number;
}

const REPLY = /^\[(\d+\.\d+)\] \d+ bytes from \S+ icmp_seq=(\d+) .*time=([\d.]+) ms/;

/** The replies in ping -D -n output (request lines, errors and the summary are skipped). */
export function parsePingSeries(output: string): PingReply[] {
  const replies: PingReply[] = [];
  for (const line of output.split('\n')) {
    const m = REPLY.exec(line);
    if (m !== null) replies.push({ seq: Number(m[2]), atMs: Number(m[1]) * 1000, rttMs: Number(m[3]) });
  }
  return replies;
}

/** The replies split at request `leadIn`: the fresh tunnel's lead-in (seq <= leadIn) and the steady rest. */
export function splitLeadIn(
  replies: readonly PingReply[],
  leadIn: number,
): { leadIn: PingReply[]; steady: PingReply[] } {
  return { leadIn: replies.filter((r) => r.seq <= leadIn), steady: replies.filter((r) => r.seq > leadIn) };
}

/** The series as CSV (seq, ms since the first reply, rtt ms) for a plot or a look at where the slow ones sit. */
export function seriesCsv(replies: readonly PingReply[]): string {
  const t0 = replies.length > 0 ? replies[0].atMs : 0;
  const rows = replies.map((r) => `${r.seq},${(r.atMs - t0).toFixed(3)},${r.rttMs}`);
  return ['seq,at_ms,rtt_ms', ...rows].join('\n') + '\n';
}
