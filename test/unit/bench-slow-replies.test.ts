import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { PingReply } from '../../bench/ping-series.js';
import {
  attributeSlowest,
  classifier,
  describeSlowReplies,
  parseSchedEvents,
  slicesOf,
  wallToPerfOffset,
} from '../../bench/slow-replies.js';

// bench/slow-replies.ts: which threads had the CPUs while a slow ping reply was on its way, from perf's scheduler
// events. A made-up trace in perf script's own format: daemon a (pid 100, helper 101), b (200, helper 201), ping
// (300), a foreign build (400); perf's clock runs 5000.25 s behind the wall clock's seconds.

const A = 100;
const B = 200;
const WALL0 = 1_800_000_000_000; // ms since the epoch, the first request's send time
const PERF0 = WALL0 / 1000 - 5000.25; // the same moment on perf's clock
const at = (ms: number): string => (PERF0 + ms / 1000).toFixed(6);

function sw(cpu: number, ms: number, comm: string, pid: number, tid: number, next: string, nextTid: number): string {
  return `${comm.padStart(16)} ${pid}/${tid} [00${cpu}] ${at(ms)}: sched:sched_switch: prev_comm=${comm} prev_pid=${tid} prev_prio=120 prev_state=S ==> next_comm=${next} next_pid=${nextTid} next_prio=120`;
}
function xmit(cpu: number, ms: number, comm: string, pid: number, dev: string): string {
  return `${comm.padStart(16)} ${pid}/${pid} [00${cpu}] ${at(ms)}: net:net_dev_xmit: dev=${dev} skbaddr=0xffff88810242d400 len=84 rc=0`;
}
function wake(cpu: number, ms: number, comm: string, pid: number, tid: number, target: string, targetTid: number) {
  return `${comm.padStart(16)} ${pid}/${tid} [00${cpu}] ${at(ms)}: sched:sched_wakeup: comm=${target} pid=${targetTid} prio=120 target_cpu=00${cpu}`;
}

// Request 1 at 0 ms: fast (0.2 ms). Request 2 at 10 ms: a's helper holds cpu 0 for 3 ms, cpu 1 runs a foreign
// build, the reply arrives at 13.5 ms. Request 3 leaves at 20 ms.
const SCRIPT = [
  sw(0, -1, 'swapper/0', 0, 0, 'ping', 300),
  sw(1, -1, 'swapper/1', 0, 0, 'npm exec tsc', 400),
  xmit(0, -0.5, 'ping', 999, 'bencha'), // someone else's ping
  xmit(0, 0, 'ping', 300, 'bencha'),
  wake(0, 0, 'ping', 300, 300, 'node', A),
  sw(0, 0.01, 'ping', 300, 300, 'node', A),
  '     node 100/100 [000] 9.0: irq:softirq_entry: vec=3 [action=NET_RX]',
  sw(0, 0.1, 'node', A, A, 'node', B),
  sw(0, 0.15, 'node', B, B, 'node', A),
  sw(0, 0.2, 'node', A, A, 'swapper/0', 0),
  xmit(0, 10.02, 'ping', 300, 'bencha'),
  wake(0, 10, 'ping', 300, 300, 'node', A),
  sw(0, 10.01, 'swapper/0', 0, 0, 'node', A),
  sw(0, 10.1, 'node', A, A, 'node', 101),
  sw(0, 13.1, 'node', A, 101, 'node', B),
  sw(0, 13.4, 'node', B, B, 'node', A),
  sw(0, 13.5, 'node', A, A, 'swapper/0', 0),
  sw(1, 20, 'npm exec tsc', 400, 400, 'swapper/1', 0),
  xmit(0, 20, 'ping', 300, 'bencha'),
].join('\n');

const REPLIES: PingReply[] = [
  { seq: 1, atMs: WALL0 + 0.2, rttMs: 0.2 },
  { seq: 2, atMs: WALL0 + 13.5, rttMs: 3.5 },
];

test('the switch and wake-up lines are parsed with their CPU, time and the thread they name; other lines skipped', () => {
  const events = parseSchedEvents(SCRIPT);
  assert.equal(events.length, 18);
  const ping = { at: Number(at(0)), cpu: 0, comm: 'ping', pid: 300, tid: 300 };
  assert.deepEqual(events[3], { ...ping, kind: 'xmit', target: 0 });
  assert.deepEqual(events[4], { ...ping, kind: 'wakeup', target: A });
  assert.equal(events[1].target, 400, 'a command name with spaces');
});

test("the wall clock's offset to perf's: request k is the k-th transmit of the ping that wakes a", () => {
  const events = parseSchedEvents(SCRIPT);
  const three = [...REPLIES, { seq: 3, atMs: WALL0 + 20.3, rttMs: 0.3 }];
  // Request 2's transmit is 0.02 ms late: the median of the three distances is still the true offset.
  const offset = wallToPerfOffset(three, events, 'ping', A);
  assert.ok(offset !== undefined && Math.abs(offset - -5000.25) < 1e-6, `offset ${offset}`);
  assert.equal(wallToPerfOffset(three, events, 'ping', 999), undefined, 'no ping wakes that pid');
  // Nebula reads its TUN on a thread other than its first: ping wakes a's thread 101.
  const other = parseSchedEvents(SCRIPT.replaceAll(`comm=node pid=${A} `, 'comm=node pid=101 '));
  const viaThread = wallToPerfOffset(three, other, 'ping', A);
  assert.ok(viaThread !== undefined && Math.abs(viaThread - -5000.25) < 1e-6, `via a's thread ${viaThread}`);
  const noXmits = parseSchedEvents(
    SCRIPT.split('\n')
      .filter((l) => !l.includes('net_dev_xmit'))
      .join('\n'),
  );
  assert.equal(wallToPerfOffset(three, noXmits, 'ping', A), undefined, 'no transmits recorded');
});

test("a slow reply's window is attributed to what ran: a's helper and the foreign build, not the fast reply's", () => {
  const events = parseSchedEvents(SCRIPT);
  const slow = attributeSlowest(REPLIES, slicesOf(events), classifier(events, A, B), -5000.25, 1);
  assert.equal(slow.length, 1);
  assert.equal(slow[0].reply.seq, 2);
  const ms = slow[0].ms;
  const near = (v: number | undefined, want: number): boolean => v !== undefined && Math.abs(v - want) < 0.002;
  assert.ok(near(ms['a-helper'], 3), JSON.stringify(ms));
  assert.ok(near(ms.foreign, 3.5), JSON.stringify(ms));
  assert.ok(near(ms['b-main'], 0.3), JSON.stringify(ms));
  assert.ok(near(ms['a-main'], 0.19), JSON.stringify(ms));
  assert.equal(ms.ping, undefined);
  assert.match(describeSlowReplies(slow), /^#2 3\.5 ms: foreign 3\.50, a-helper 3\.00, b-main 0\.30, a-main 0\.19/);
});
