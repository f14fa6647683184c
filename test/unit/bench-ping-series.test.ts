import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parsePingSeries, seriesCsv, splitLeadIn } from '../../bench/ping-series.js';
import { parsePing, pingArgs } from '../e2e/lab/ping.js';

// bench/latency.ts's RTT part splits a fresh tunnel's lead-in from its steady state by ping -D's replies; a
// mis-parse would silently move slow replies from one to the other.

const OUTPUT = `PING 10.99.0.2 (10.99.0.2) 56(84) bytes of data.
[1733500000.100000] 64 bytes from 10.99.0.2: icmp_seq=1 ttl=64 time=0.612 ms
[1733500000.101000] 64 bytes from 10.99.0.2: icmp_seq=2 ttl=64 time=43.2 ms
[1733500000.102500] From 10.99.0.1 icmp_seq=3 Destination Host Unreachable
[1733500000.104000] 64 bytes from 10.99.0.2: icmp_seq=4 ttl=64 time=0.140 ms

--- 10.99.0.2 ping statistics ---
4 packets transmitted, 3 received, +1 errors, 25% packet loss, time 3ms
rtt min/avg/max/mdev = 0.140/14.650/43.200/20.190 ms
`;

test('ping -D replies are read with their sequence number, arrival time and RTT; errors and summary are not', () => {
  assert.deepEqual(parsePingSeries(OUTPUT), [
    { seq: 1, atMs: 1733500000100, rttMs: 0.612 },
    { seq: 2, atMs: 1733500000101, rttMs: 43.2 },
    { seq: 4, atMs: 1733500000104, rttMs: 0.14 },
  ]);
});

test('the lead-in is the replies to the first N requests by sequence number, whatever arrived', () => {
  const split = splitLeadIn(parsePingSeries(OUTPUT), 2);
  assert.deepEqual(
    split.leadIn.map((r) => r.seq),
    [1, 2],
  );
  assert.deepEqual(
    split.steady.map((r) => r.seq),
    [4],
  );
  assert.equal(splitLeadIn(parsePingSeries(OUTPUT), 0).leadIn.length, 0);
});

test('the CSV gives times from the first reply', () => {
  assert.equal(seriesCsv(parsePingSeries(OUTPUT)), 'seq,at_ms,rtt_ms\n1,0.000,0.612\n2,1.000,43.2\n4,4.000,0.14\n');
});

test("the lab's ping asks for timestamps with `timestamps` only, and its output reads both ways", () => {
  assert.deepEqual(pingArgs('10.99.0.2', { count: 1500, intervalSec: 0.01, timeoutSec: 20, timestamps: true }), [
    '-D',
    '-n',
    '-c',
    '1500',
    '-w',
    '20',
    '-i',
    '0.01',
    '10.99.0.2',
  ]);
  assert.deepEqual(pingArgs('fd00::2'), ['-6', '-n', '-c', '1', '-w', '2', '-i', '0.2', 'fd00::2']);
  const r = parsePing(OUTPUT, 4);
  assert.deepEqual(r.rttMs, [0.612, 43.2, 0.14]);
  assert.deepEqual(r.errors, ['[1733500000.102500] From 10.99.0.1 icmp_seq=3 Destination Host Unreachable']);
  assert.deepEqual(parsePingSeries(r.output), parsePingSeries(OUTPUT));
});
