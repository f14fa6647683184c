// latency.ts `first`: how long a's first contact with b takes on running daemons, measured, not estimated.
//
// The start is the first echo request as it enters a's TUN (a packet capture's kernel timestamp), the end ping's own
// receive time of the first reply (ping -D); both read the same realtime clock. ping sends every 2 ms until one reply,
// so a first request the daemon drops is still timed from the first one. Before the ping, a and b must be registered
// with the lighthouse: each has logged its tunnel to it up (its queued host update goes out on it at once), and a
// counter on the lighthouse shows how many messages a sent it during the contact (2 for both implementations so far).

import type { Host, Lab } from '../test/e2e/lab/lab.js';
import type { LabProcess } from '../test/e2e/lab/process.js';

/** The line each implementation logs once a handshake it started with `peerVpnIp` is complete. */
export function tunnelUpPattern(peerVpnIp: string): RegExp {
  const ip = peerVpnIp.replaceAll('.', '\\.');
  // mesh: "Handshake completed (initiator)"; nebula 1.6.1: stage 2's "Handshake message received".
  return new RegExp(`(?:Handshake completed \\(initiator\\)|Handshake message received).*\\bvpnIp=${ip}(?![\\d.])`);
}

/** Waits until every node in `nodes` has logged its tunnel to the lighthouse up; the ms it took. */
export async function waitRegistered(nodes: readonly LabProcess[], lighthouseVpnIp: string, timeoutMs: number) {
  const t0 = performance.now();
  const pattern = tunnelUpPattern(lighthouseVpnIp);
  await Promise.all(nodes.map((n) => n.waitForLog(pattern, timeoutMs)));
  return performance.now() - t0;
}

/** The capture time (seconds, realtime) of tcpdump -tt's first packet line, or null. */
export function parseCaptureTime(output: string): number | null {
  const m = /^(\d+\.\d+) IP /m.exec(output);
  return m === null ? null : Number(m[1]);
}

/** ping -D's first reply: its receive time (seconds, realtime), its request number and ping's RTT for it. */
export function parseFirstReply(output: string): { at: number; seq: number; rttMs: number } | null {
  const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+) ms/m.exec(output);
  return m === null ? null : { at: Number(m[1]), seq: Number(m[2]), rttMs: Number(m[3]) };
}

export interface FirstContact {
  /** First request into a's TUN to the first reply read by ping. */
  ms: number;
  /** The request the first reply answered (1 unless earlier ones were lost). */
  seq: number;
}

/** Told when the ping starts and when it has its reply, so what it measures leaves the capture's startup out. */
export interface ContactWindow {
  opened(): void;
  closed(): void;
}

/** Pings `ip` from `from` (TUN `tunDev`) every 2 ms until one reply; times it from the first request's capture. */
export async function firstContact(
  lab: Lab,
  from: Host,
  tunDev: string,
  ip: string,
  window: ContactWindow,
): Promise<FirstContact> {
  const capture = await lab.spawn(from, 'tcpdump', [
    '-i',
    tunDev,
    '-n',
    '-tt',
    '--time-stamp-precision=micro',
    '-c',
    '1',
    'icmp[icmptype] = icmp-echo',
  ]);
  try {
    await capture.waitForLog(/listening on/, 5000);
    window.opened();
    const r = await lab.exec(from, 'ping', ['-D', '-n', '-c', '1', '-w', '5', '-i', '0.002', ip], {
      check: false,
      timeoutMs: 10_000,
    });
    window.closed();
    const reply = parseFirstReply(r.stdout);
    if (reply === null) throw new Error(`no reply from ${ip}:\n${r.stdout}${r.stderr}\n${lab.logTails()}`);
    await Promise.race([capture.exited, new Promise((done) => setTimeout(done, 2000))]);
    const sentAt = parseCaptureTime(capture.log());
    if (sentAt === null) throw new Error(`no echo request captured on ${tunDev}:\n${capture.log()}`);
    return { ms: (reply.at - sentAt) * 1000, seq: reply.seq };
  } finally {
    await capture.kill(500);
  }
}

/** Counts UDP packets from one address to the lighthouse's port, in the lighthouse's namespace (nftables). */
export class LighthouseInbound {
  private constructor(
    private readonly lab: Lab,
    private readonly lighthouse: Host,
  ) {}

  static async install(lab: Lab, lighthouse: Host, fromIp: string, port: number): Promise<LighthouseInbound> {
    const nft = (...args: string[]) => lab.exec(lighthouse, 'nft', args);
    await nft('add', 'table', 'inet', 'benchfirst');
    await nft(
      'add',
      'chain',
      'inet',
      'benchfirst',
      'in',
      '{',
      'type',
      'filter',
      'hook',
      'input',
      'priority',
      '0',
      ';',
      '}',
    );
    await nft(
      'add',
      'rule',
      'inet',
      'benchfirst',
      'in',
      'ip',
      'saddr',
      fromIp,
      'udp',
      'dport',
      String(port),
      'counter',
    );
    return new LighthouseInbound(lab, lighthouse);
  }

  /** Packets counted so far. */
  async packets(): Promise<number> {
    const r = await this.lab.exec(this.lighthouse, 'nft', ['list', 'chain', 'inet', 'benchfirst', 'in']);
    const m = /counter packets (\d+)/.exec(r.stdout);
    if (m === null) throw new Error(`no counter in:\n${r.stdout}`);
    return Number(m[1]);
  }
}
