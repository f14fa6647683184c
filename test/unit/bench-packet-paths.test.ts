import assert from 'node:assert/strict';
import { test } from 'node:test';

import { packetPaths } from '../../bench/packet-paths.js';

// bench/wake-probe.ts --record reads each packet's way through a daemon from perf's syscall events: from the read
// that returned it to the syscall that sent it on, the first one after an idle gap counted as cold.

/** One `perf script -F pid,tid,time,event,trace` line. */
const line = (pid: number, tid: number, t: number, event: string, trace: string): string =>
  `  ${pid}/${tid}  ${t.toFixed(6)}:  ${event}: ${trace}`;
const enter = (pid: number, t: number, nr: number, args: string): string =>
  line(pid, pid, t, 'raw_syscalls:sys_enter', `NR ${nr} (${args})`);
const exit = (pid: number, t: number, nr: number, ret: number): string =>
  line(pid, pid, t, 'raw_syscalls:sys_exit', `NR ${nr} = ${ret}`);
const fault = (pid: number, t: number): string =>
  line(pid, pid, t, 'exceptions:page_fault_user', 'address=0x1000 ip=0x2000 error_code=0x6');

test('a woken process: its first packet is the cold path, the one right after it warm, faults counted per path', () => {
  const script = [
    exit(7, 100.0, 232, 1), // epoll_wait returns: not a packet
    exit(7, 100.00001, 299, 1), // recvmmsg: one datagram
    fault(7, 100.0001),
    enter(7, 100.0003, 20, 'c, 7ffd, 2, 1, 0, 0'), // writev to the TUN: 290 us after
    exit(7, 100.0004, 19, 84), // readv from the TUN: the reply
    exit(7, 100.00041, 19, -11), // EAGAIN is no packet
    enter(7, 100.0005, 307, 'b, 7ffd, 1, 40, 0, 0'), // sendmmsg: 100 us after
    exit(9, 100.0006, 299, 1), // another process
    enter(9, 100.0007, 307, 'b, 7ffd, 1, 40, 0, 0'),
  ].join('\n');
  const paths = packetPaths(script, 7);
  assert.equal(paths.length, 2);
  assert.deepEqual(
    paths.map((p) => [Math.round(p.us), p.cold, p.faults]),
    [
      [290, true, 1],
      [100, false, 0],
    ],
  );
  assert.equal(packetPaths(script, 9).length, 1);
});

test("reads that are no packets and 8-byte event-fd writes are not a path's ends; a packet that went nowhere is dropped", () => {
  const script = [
    exit(7, 200.0, 0, 1), // the Go runtime's 1-byte wake-up read
    enter(7, 200.00001, 1, '4, c000, 8, 0, 0, 0'), // an event-fd write
    exit(7, 200.0001, 0, 84), // a TUN read
    enter(7, 200.0002, 1, '4, c000, 8, 0, 0, 0'), // event-fd write: not the packet going out
    exit(7, 200.00022, 0, 1), // another thread's wake-up read: not the packet's start
    enter(7, 200.00025, 44, '7, c000, 74, 0, 0, 0'), // sendto: the packet, 150 us after its read
    exit(7, 201.0, 0, 84), // a packet with no send ...
    enter(7, 201.2, 44, '7, c000, 74, 0, 0, 0'), // ... and a send 200 ms later: not one path
  ].join('\n');
  assert.deepEqual(
    packetPaths(script, 7).map((p) => [Math.round(p.us), p.cold]),
    [[150, true]],
  );
});

test('each path says what the packet came from, the epoll wake-up before its read, and the syscalls on its way', () => {
  const script = [
    exit(7, 300.0, 281, 1), // epoll_pwait returns
    exit(7, 300.00002, 19, 84), // readv from the TUN, 20 us after the wake-up
    enter(7, 300.00003, 19, 'c, 7ffd, 3, 0, 0, 0'), // a second read ...
    exit(7, 300.000031, 19, -11), // ... that found nothing
    enter(7, 300.0001, 307, 'b, 7ffd, 1, 40, 0, 0'), // sendmmsg
    exit(7, 300.004, 281, 1), // 4 ms later
    exit(7, 300.004005, 299, 1), // recvmmsg, 5 us after its wake-up
    enter(7, 300.00406, 20, 'c, 7ffd, 2, 1, 0, 0'), // writev to the TUN
    exit(7, 300.02, 299, 1), // no epoll return before this one
    enter(7, 300.02005, 20, 'c, 7ffd, 2, 1, 0, 0'),
  ].join('\n');
  const paths = packetPaths(script, 7, 0.003);
  assert.deepEqual(
    paths.map((p) => [p.via, Math.round(p.wakeUs), p.syscalls, p.cold]),
    [
      ['tun', 20, 1, true],
      ['udp', 5, 0, true],
      ['udp', -1, 0, true],
    ],
  );
  // With the default gap (100 ms) only the first is after idle.
  assert.deepEqual(
    packetPaths(script, 7).map((p) => p.cold),
    [true, false, false],
  );
});
