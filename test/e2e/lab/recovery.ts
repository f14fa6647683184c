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
