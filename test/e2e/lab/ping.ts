import { execIn } from './exec.js';

// ICMP echo from inside a namespace with iputils ping; the reply times are parsed from its output. An IPv6 target
// (any address with a colon) is pinged with -6 (ICMPv6 echo).

export interface PingOptions {
  /** Echo requests to send; default 1. */
  count?: number;
  /** Overall deadline in seconds (ping -w); default 2. */
  timeoutSec?: number;
  /** Seconds between requests; default 0.2. */
  intervalSec?: number;
  /** ICMP payload size in bytes (ping -s). */
  size?: number;
}

export interface PingResult {
  /** At least one reply came back. */
  ok: boolean;
  sent: number;
  /** One round-trip time per reply, in milliseconds, in arrival order. */
  rttMs: number[];
  /** ICMP errors that came back instead of replies, as ping prints them ("From 10.99.0.2 icmp_seq=1 Packet filtered"). */
  errors: string[];
}

export async function pingFrom(ns: string, ip: string, options: PingOptions = {}): Promise<PingResult> {
  const count = options.count ?? 1;
  const timeoutSec = options.timeoutSec ?? 2;
  const args = [
    ...(ip.includes(':') ? ['-6'] : []),
    '-n',
    '-c',
    String(count),
    '-w',
    String(timeoutSec),
    '-i',
    String(options.intervalSec ?? 0.2),
  ];
  if (options.size !== undefined) args.push('-s', String(options.size));
  args.push(ip);
  const result = await execIn(ns, 'ping', args, { check: false, timeoutMs: timeoutSec * 1000 + 5000 });
  return parsePing(result.stdout, count);
}

export function parsePing(output: string, sent: number): PingResult {
  const rttMs = [...output.matchAll(/bytes from .* time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const errors = output.split('\n').filter((line) => /^From \S+ icmp_seq=/.test(line));
  return { ok: rttMs.length > 0, sent, rttMs, errors };
}
