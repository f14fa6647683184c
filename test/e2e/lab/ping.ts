import { execIn } from './exec.js';

// ICMP echo from inside a namespace with iputils ping; the reply times are parsed from its output. An IPv6 target
// (any address with a colon) is pinged with -6 (ICMPv6 echo). The one place the lab and the benchmarks build ping's
// arguments (bench/ping-series.ts reads the timestamped output of a long run).

export interface PingOptions {
  /** Echo requests to send; default 1. */
  count?: number;
  /** Overall deadline in seconds (ping -w); default 2. */
  timeoutSec?: number;
  /** Seconds between requests; default 0.2. */
  intervalSec?: number;
  /** ICMP payload size in bytes (ping -s). */
  size?: number;
  /** ping -D: every line starts with the wall-clock time it was printed ("[1733500000.100000] 64 bytes from ..."). */
  timestamps?: boolean;
}

export interface PingResult {
  /** At least one reply came back. */
  ok: boolean;
  sent: number;
  /** One round-trip time per reply, in milliseconds, in arrival order. */
  rttMs: number[];
  /** ICMP errors that came back instead of replies, as ping prints them ("From 10.99.0.2 icmp_seq=1 Packet filtered"). */
  errors: string[];
  /** ping's whole output, for a reader of more than the RTTs (bench/ping-series.ts parsePingSeries). */
  output: string;
}

export async function pingFrom(ns: string, ip: string, options: PingOptions = {}): Promise<PingResult> {
  const timeoutSec = options.timeoutSec ?? 2;
  const result = await execIn(ns, 'ping', pingArgs(ip, options), { check: false, timeoutMs: timeoutSec * 1000 + 5000 });
  return parsePing(result.stdout, options.count ?? 1);
}

/** ping's arguments for `options` (defaults as documented on PingOptions). */
export function pingArgs(ip: string, options: PingOptions = {}): string[] {
  const args = [
    ...(ip.includes(':') ? ['-6'] : []),
    ...(options.timestamps === true ? ['-D'] : []),
    '-n',
    '-c',
    String(options.count ?? 1),
    '-w',
    String(options.timeoutSec ?? 2),
    '-i',
    String(options.intervalSec ?? 0.2),
  ];
  if (options.size !== undefined) args.push('-s', String(options.size));
  args.push(ip);
  return args;
}

export function parsePing(output: string, sent: number): PingResult {
  const rttMs = [...output.matchAll(/bytes from .* time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  // With timestamps (-D) an error line starts with its time too.
  const errors = output.split('\n').filter((line) => /^(\[[\d.]+\] )?From \S+ icmp_seq=/.test(line));
  return { ok: rttMs.length > 0, sent, rttMs, errors, output };
}
