// What a process costs, read from /proc: CPU seconds used so far (user + system, all threads) and resident memory.
// `ip netns exec` execs the command in place, so a LabProcess pid is the daemon's own pid.

import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ on Linux

export interface CpuTimes {
  user: number;
  system: number;
}

export function cpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SEC, system: Number(fields[12]) / CLOCK_TICKS_PER_SEC };
}

export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** Resident set size in MiB (VmRSS). */
export function rssMb(pid: number): number {
  return statusMb(pid, 'VmRSS');
}

/**
 * The anonymous part of the resident set (heaps, malloc): what more tunnels cost. VmRSS also counts pages of the
 * executable and libraries, which grow once as code paths run for the first time and are shared between processes.
 */
export function anonRssMb(pid: number): number {
  return statusMb(pid, 'RssAnon');
}

function statusMb(pid: number, field: 'VmRSS' | 'RssAnon'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (m === null) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank quantile (p99 of 200 samples is the 198th smallest). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}
