// throughput --diag: what to look at after a slow TCP round (issue 19's bimodal rounds at 20% loss). Both daemons
// serve their metrics on 127.0.0.1 inside their namespace; after each TCP run this prints, per host, the daemon's
// non-zero drop / handshake / tunnel counters, the kernel's UDP and TCP counters that grew (nstat: socket buffer
// overflows, TCP's own view of loss and reordering) and the TUN's error counters; during the run, `ss -ti` of the
// iperf3 sender (cwnd, rtt, retransmits, reordering) a few times.

import { appendFileSync } from 'node:fs';

import type { Host, Lab } from '../test/e2e/lab/lab.js';

const METRICS_PORT = 9111;

/** Adds a Prometheus endpoint on the host's loopback to a config file (mesh and nebula 1.6.1 read the same keys). */
export function enableStats(configPath: string): void {
  appendFileSync(
    configPath,
    `stats:\n  type: prometheus\n  listen: 127.0.0.1:${METRICS_PORT}\n  path: /metrics\n  interval: 1s\n`,
  );
}

/** Zeroes nstat's history in the host's namespace, so the next report covers one run. */
export async function resetKernelCounters(lab: Lab, host: Host): Promise<void> {
  await lab.exec(host, 'nstat', ['-n'], { check: false, env: nstatEnv(host) });
}

/** nstat keeps its history in one file per user; one per namespace keeps the hosts apart. */
function nstatEnv(host: Host): NodeJS.ProcessEnv {
  return { ...process.env, NSTAT_HISTORY: `/tmp/nstat-${host.ns}` };
}

/**
 * `ss -ti` of the TCP socket to port 52xx (iperf3) that has sent the most, the fields that tell a TCP stall (state,
 * cwnd, rtt, rto, retransmits, pacing): '' when there is none (the run ended).
 */
export async function senderSockets(lab: Lab, host: Host): Promise<string> {
  const r = await lab.exec(host, 'ss', ['-tinH', 'dport', 'ge', ':5201', 'and', 'dport', 'le', ':5300'], {
    check: false,
  });
  const sockets = r.stdout.replace(/\n\s+/g, ' ').trim().split('\n').filter(Boolean);
  const sent = (s: string): number => Number(/bytes_sent:(\d+)/.exec(s)?.[1] ?? 0);
  const busiest = sockets.sort((x, y) => sent(y) - sent(x))[0];
  if (busiest === undefined) return '';
  const keep =
    /^(ESTAB|SYN-SENT|rto|rtt|cwnd|ssthresh|bytes_sent|bytes_retrans|retrans|lost|pacing_rate|delivery_rate|minrtt|busy|rwnd_limited|bbr|unacked|snd_wnd|reordering)\b/;
  return busiest
    .split(/\s+/)
    .filter((f) => keep.test(f))
    .join(' ');
}

const INTERESTING = /drop|handshake|tunnel|replay|recv_error|test|error|relay|lighthouse/i;
const KERNEL = /^(Udp|Tcp|TcpExt|Ip)/;

/** The daemon's interesting non-zero counters, the kernel counters that grew since the reset, the TUN's errors. */
export async function report(lab: Lab, host: Host, tunDev: string): Promise<string> {
  const lines: string[] = [];
  const metrics = await lab.exec(host, 'curl', ['-s', '-m', '2', `http://127.0.0.1:${METRICS_PORT}/metrics`], {
    check: false,
  });
  for (const line of metrics.stdout.split('\n')) {
    if (line.startsWith('#') || !INTERESTING.test(line)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (value !== 0 && Number.isFinite(value)) lines.push(`    ${line}`);
  }
  const nstat = await lab.exec(host, 'nstat', ['-s'], { check: false, env: nstatEnv(host) });
  const kernel = nstat.stdout
    .split('\n')
    .filter((l) => KERNEL.test(l))
    .map((l) => l.trim().split(/\s+/).slice(0, 2).join('='));
  lines.push(`    kernel: ${kernel.join(' ')}`);
  const link = await lab.exec(host, 'ip', ['-s', '-s', 'link', 'show', 'dev', tunDev], { check: false });
  lines.push(`    ${tunDev}: ${link.stdout.replace(/\s+/g, ' ').trim()}`);
  return lines.join('\n');
}

/**
 * Makes every iperf3 connection start with a lost SYN: b's input hook drops every second SYN to ports 5201-5300
 * (overlay traffic, after mesh or nebula delivered it), so the first SYN of each connection is gone and its
 * retransmission, a second later, gets through.
 */
export async function loseEverySecondSyn(lab: Lab, host: Host): Promise<void> {
  const rules = [
    'add table inet benchsyn',
    'add chain inet benchsyn in { type filter hook input priority 0 ; }',
    'add rule inet benchsyn in tcp dport 5201-5300 tcp flags & (syn | ack) == syn numgen inc mod 2 == 0 drop',
  ];
  await lab.exec(host, 'nft', ['-f', '-'], { input: rules.join('\n') + '\n' });
}
