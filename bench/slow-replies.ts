// What the slowest ping replies of a run have in common (issue 19, the RTT tails): for each slow reply, which
// threads had the CPUs between its request leaving ping and its reply arriving, from a system-wide `perf record`
// of the scheduler's switch and wake-up events over the same pings. Classes: a's and b's main threads, their other
// threads (V8's compiler and GC helpers, libuv's pool), ping itself, anything else on the machine ("foreign": other
// people's builds and tests share these 2 cores) and the idle task. A slow reply whose window is mostly foreign or
// idle is the machine's; one whose window is a helper's is a compile or GC job of ours.
//
// ping stamps its replies with the wall clock (ping -D), perf with CLOCK_MONOTONIC (perf record -k CLOCK_MONOTONIC):
// the offset between them is found from the events themselves (wallToPerfOffset): ping's k-th transmit on a's TUN
// (net:net_dev_xmit, recorded too) is request k.

import { spawn } from 'node:child_process';

import { sleep } from '../test/e2e/lab/wait.js';
import type { PingReply } from './ping-series.js';

/** One scheduler or transmit event of `perf script -F comm,pid,tid,cpu,time,event,trace`. */
export interface SchedEvent {
  /** Seconds, CLOCK_MONOTONIC. */
  at: number;
  cpu: number;
  /** The thread that was running when the event fired: its command name, process and thread id. */
  comm: string;
  pid: number;
  tid: number;
  kind: 'switch' | 'wakeup' | 'xmit';
  /** switch: the thread switched in; wakeup: the woken thread (names come from the threads' own events); xmit: 0. */
  target: number;
}

const LINE =
  /^\s*(.+?)\s+(-?\d+)\/(-?\d+)\s+\[(\d+)\]\s+(\d+\.\d+):\s+(?:sched:sched_(switch|wakeup)|net:net_dev_(xmit)):\s*(.*)$/;
const SWITCHED_IN = /next_comm=.* next_pid=(\d+)/;
const WOKEN = /comm=.*? pid=(\d+)/;

/** The switch and wake-up events of a perf script text, in order; other lines are skipped. */
export function parseSchedEvents(script: string): SchedEvent[] {
  const events: SchedEvent[] = [];
  for (const line of script.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const kind = m[7] === 'xmit' ? 'xmit' : m[6] === 'switch' ? 'switch' : 'wakeup';
    const t = kind === 'xmit' ? ['', '0'] : (kind === 'switch' ? SWITCHED_IN : WOKEN).exec(m[8]);
    if (t === null) continue;
    events.push({
      at: Number(m[5]),
      cpu: Number(m[4]),
      comm: m[1],
      pid: Number(m[2]),
      tid: Number(m[3]),
      kind,
      target: Number(t[1]),
    });
  }
  return events;
}

/** A stretch of time one thread had one CPU. */
export interface Slice {
  cpu: number;
  tid: number;
  from: number;
  to: number;
}

/** The CPUs' slices between consecutive switches (the first and last stretch of each CPU are unknown: left out). */
export function slicesOf(events: readonly SchedEvent[]): Slice[] {
  const running = new Map<number, { tid: number; from: number }>();
  const slices: Slice[] = [];
  for (const e of events) {
    if (e.kind !== 'switch') continue;
    const cur = running.get(e.cpu);
    if (cur !== undefined) slices.push({ cpu: e.cpu, tid: cur.tid, from: cur.from, to: e.at });
    running.set(e.cpu, { tid: e.target, from: e.at });
  }
  return slices;
}

/** The thread ids of each process seen in the events (a thread's pid is known once it ran while an event fired). */
export function threadOwners(events: readonly SchedEvent[]): Map<number, number> {
  const owners = new Map<number, number>();
  for (const e of events) owners.set(e.tid, e.pid);
  return owners;
}

/**
 * Seconds to add to a wall-clock time (ms since the epoch / 1000) to get perf's clock: the median, over the replies,
 * of the distance between request k's transmit on a's TUN and its send time (its reply's time minus its RTT). The
 * ping process is the one named `pingComm` that wakes a's threads most often (other people's pings may run on the
 * machine; a's TUN reader is its main thread in mesh, another thread in Nebula); its k-th transmit is request k.
 * Undefined when that ping or its transmits are not in the events.
 */
export function wallToPerfOffset(
  replies: readonly PingReply[],
  events: readonly SchedEvent[],
  pingComm: string,
  pidA: number,
): number | undefined {
  const owners = threadOwners(events);
  const wakers = new Map<number, number>();
  for (const e of events) {
    if (e.kind !== 'wakeup' || e.comm !== pingComm || owners.get(e.target) !== pidA) continue;
    wakers.set(e.pid, (wakers.get(e.pid) ?? 0) + 1);
  }
  const ping = [...wakers].sort((x, y) => y[1] - x[1])[0]?.[0];
  if (ping === undefined) return undefined;
  const xmits = events.filter((e) => e.kind === 'xmit' && e.pid === ping).map((e) => e.at);
  const deltas = replies
    .filter((r) => r.seq <= xmits.length)
    .map((r) => xmits[r.seq - 1] - (r.atMs - r.rttMs) / 1000)
    .sort((x, y) => x - y);
  return deltas.length === 0 ? undefined : deltas[deltas.length >> 1];
}

export type ThreadClass = 'a-main' | 'b-main' | 'a-helper' | 'b-helper' | 'ping' | 'foreign' | 'idle';

/** Which class thread `tid` is of, for daemons a and b (their main thread's id is their pid). */
export function classifier(
  events: readonly SchedEvent[],
  pidA: number,
  pidB: number,
  pingComm = 'ping',
): (tid: number) => ThreadClass {
  const owners = threadOwners(events);
  const names = new Map<number, string>();
  for (const e of events) names.set(e.tid, e.comm);
  return (tid) => {
    if (tid === 0) return 'idle';
    if (tid === pidA) return 'a-main';
    if (tid === pidB) return 'b-main';
    const owner = owners.get(tid);
    if (owner === pidA) return 'a-helper';
    if (owner === pidB) return 'b-helper';
    return names.get(tid) === pingComm ? 'ping' : 'foreign';
  };
}

/** One slow reply and the CPU time, ms per class, inside its window (request sent -> reply in). */
export interface SlowReply {
  reply: PingReply;
  ms: Partial<Record<ThreadClass, number>>;
}

/** The `count` slowest replies with what ran in their windows; `offset` from wallToPerfOffset. */
export function attributeSlowest(
  replies: readonly PingReply[],
  slices: readonly Slice[],
  classOf: (tid: number) => ThreadClass,
  offset: number,
  count: number,
): SlowReply[] {
  const slowest = [...replies].sort((x, y) => y.rttMs - x.rttMs).slice(0, count);
  return slowest.map((reply) => {
    const from = (reply.atMs - reply.rttMs) / 1000 + offset;
    const to = reply.atMs / 1000 + offset;
    const ms: Partial<Record<ThreadClass, number>> = {};
    for (const s of slices) {
      const overlap = Math.min(s.to, to) - Math.max(s.from, from);
      if (overlap <= 0) continue;
      const c = classOf(s.tid);
      ms[c] = (ms[c] ?? 0) + overlap * 1000;
    }
    return { reply, ms };
  });
}

/** One line per slow reply: `#seq rtt ms: class ms, ...` (largest first), then the classes summed. */
export function describeSlowReplies(slow: readonly SlowReply[]): string {
  const total: Partial<Record<ThreadClass, number>> = {};
  const lines = slow.map(({ reply, ms }) => {
    for (const [c, v] of Object.entries(ms) as Array<[ThreadClass, number]>) total[c] = (total[c] ?? 0) + v;
    return `#${reply.seq} ${reply.rttMs} ms: ${byShare(ms)}`;
  });
  return [...lines, `all ${slow.length}: ${byShare(total)}`].join('\n');
}

function byShare(ms: Partial<Record<ThreadClass, number>>): string {
  return (Object.entries(ms) as Array<[ThreadClass, number]>)
    .sort((x, y) => y[1] - x[1])
    .map(([c, v]) => `${c} ${v.toFixed(2)}`)
    .join(', ');
}

/** A system-wide recording of the scheduler's switches and wake-ups and the transmits, on perf's CLOCK_MONOTONIC. */
export interface SchedRecording {
  /** Stops perf (SIGINT: it writes its file) and resolves once it exited (at most 10 s). */
  stop(): Promise<void>;
}

/** Starts `perf record` into `file`; resolves once perf had a second to set its events up. */
export async function recordSched(file: string): Promise<SchedRecording> {
  const args = ['record', '-q', '-a', '-k', 'CLOCK_MONOTONIC', '-o', file];
  const events = ['-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup', '-e', 'net:net_dev_xmit'];
  const child = spawn('perf', [...args, ...events], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  await Promise.race([exited, sleep(1000)]);
  return {
    stop: async () => {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
    },
  };
}

/** The `count` slowest of `replies` attributed from a recorded file (recordSched), as describeSlowReplies prints. */
export async function slowRepliesOf(
  file: string,
  replies: readonly PingReply[],
  pids: { a: number; b: number },
  count: number,
): Promise<string> {
  const child = spawn('perf', ['script', '-i', file, '-F', 'comm,pid,tid,cpu,time,event,trace'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let script = '';
  child.stdout.on('data', (d: Buffer) => (script += d.toString()));
  await new Promise<void>((done) => child.once('close', () => done()));
  const events = parseSchedEvents(script);
  const offset = wallToPerfOffset(replies, events, 'ping', pids.a);
  if (offset === undefined) return `no clock offset found in ${file} (${events.length} events)`;
  const slow = attributeSlowest(replies, slicesOf(events), classifier(events, pids.a, pids.b), offset, count);
  return describeSlowReplies(slow);
}
