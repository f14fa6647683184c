import type { Host, Lab } from './lab.js';
import { sleep } from './wait.js';

// Runs a 10 Hz overlay ping across an event (a host moving, a NAT forgetting) and reports how long replies stopped.

export interface Recovery {
  /** Milliseconds from the event to the first reply after it; null if none came back. */
  recoveryMs: number | null;
  repliesBefore: number;
  repliesAfter: number;
}

export async function measureRecovery(
  lab: Lab,
  from: Host,
  target: string,
  event: () => Promise<void>,
  { warmupMs = 1500, afterMs = 6000 }: { warmupMs?: number; afterMs?: number } = {},
): Promise<Recovery> {
  const proc = await lab.spawn(from, 'stdbuf', ['-oL', 'ping', '-D', '-n', '-i', '0.1', '-W', '1', target]);
  await sleep(warmupMs);
  const eventAt = Date.now() / 1000;
  await event();
  await sleep(afterMs);
  await proc.kill();
  const replies = proc
    .log()
    .split('\n')
    .map((l) => /^\[(\d+\.\d+)\] \d+ bytes from/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  const after = replies.filter((t) => t > eventAt);
  return {
    recoveryMs: after.length > 0 ? Math.round((after[0] - eventAt) * 1000) : null,
    repliesBefore: replies.length - after.length,
    repliesAfter: after.length,
  };
}

/** One reply line of `ping -D`: when it arrived (epoch s), its sequence number and round trip (ms). */
interface PingReply {
  at: number;
  seq: number;
  rttMs: number;
}

function pingReplies(log: string): PingReply[] {
  const out: PingReply[] = [];
  for (const line of log.split('\n')) {
    const m = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+).* time=([\d.]+) ms/.exec(line);
    if (m !== null) out.push({ at: Number(m[1]), seq: Number(m[2]), rttMs: Number(m[3]) });
  }
  return out;
}

const PING_INTERVAL_MS = 100;

/**
 * Like measureRecovery, but returns as soon as the first reply after the event arrives (or after `timeoutMs`), so a
 * fast recovery costs no waiting. `beforeEvent` runs while the ping is already going and is not timed (a peer being
 * down for 2 s before the timed restart).
 */
export async function measureFirstReplyAfter(
  lab: Lab,
  from: Host,
  target: string,
  event: () => Promise<void>,
  {
    warmupMs = 1500,
    timeoutMs = 6000,
    beforeEvent,
  }: { warmupMs?: number; timeoutMs?: number; beforeEvent?: () => Promise<void> } = {},
): Promise<Recovery> {
  const proc = await lab.spawn(from, 'stdbuf', ['-oL', 'ping', '-D', '-n', '-i', '0.1', '-W', '1', target]);
  try {
    await sleep(warmupMs);
    if (beforeEvent !== undefined) await beforeEvent();
    const eventAt = Date.now() / 1000;
    await event();
    const deadline = eventAt * 1000 + timeoutMs;
    for (;;) {
      const replies = pingReplies(proc.log());
      const after = replies.filter((r) => r.at > eventAt);
      if (after.length > 0 || Date.now() >= deadline) {
        return {
          recoveryMs: after.length > 0 ? Math.round((after[0].at - eventAt) * 1000) : null,
          repliesBefore: replies.length - after.length,
          repliesAfter: after.length,
        };
      }
      await sleep(20);
    }
  } finally {
    await proc.kill();
  }
}

/**
 * Time from the first echo request of a fresh 10 Hz ping to its first reply, in ms (null if none within
 * `timeoutMs`). Taken from ping's own figures (sequence number and round trip), so process start-up is not counted.
 */
export async function firstReplyMs(lab: Lab, from: Host, target: string, timeoutMs = 5000): Promise<number | null> {
  const proc = await lab.spawn(from, 'stdbuf', [
    '-oL',
    'ping',
    '-D',
    '-n',
    '-i',
    '0.1',
    '-W',
    String(Math.ceil(timeoutMs / 1000)),
    target,
  ]);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const first = pingReplies(proc.log())[0];
      if (first !== undefined) return Math.round(((first.seq - 1) * PING_INTERVAL_MS + first.rttMs) * 10) / 10;
      if (Date.now() >= deadline) return null;
      await sleep(20);
    }
  } finally {
    await proc.kill();
  }
}
