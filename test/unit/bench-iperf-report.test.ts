// bench/iperf.ts reads a UDP report's sent and received counts from each side's own figures (review R2 LOW-8).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { lossPercent, udpEnds } from '../../bench/iperf.js';

/** A UDP client report shaped as iperf3 3.12 writes it: 1000 sent, 50 lost in gaps, the last 100 never arrived. */
function tailLossReport(): Record<string, unknown> {
  return {
    end: {
      sum: { packets: 1000, lost_packets: 50, seconds: 10, bytes: 36_000 },
      sum_sent: { packets: 1000, lost_packets: 0, seconds: 10, bytes: 36_000 },
      sum_received: { packets: 900, lost_packets: 50, seconds: 10.2, bytes: 850 * 36 },
    },
  };
}

test('a flood report: received is what the receiver read, tail loss included in the loss', () => {
  const { sent, received } = udpEnds(tailLossReport());
  assert.deepEqual(sent, { packets: 1000, bytes: 36_000, seconds: 10 });
  // 900 highest sequence number seen, less 50 gaps: 850 read, as its byte count says (36-byte datagrams).
  assert.deepEqual(received, { packets: 850, bytes: 850 * 36, seconds: 10.2 });
  assert.equal(lossPercent(sent.packets, received.packets), 15);
});

test('a report without the per-side sums is refused rather than read from end.sum', () => {
  assert.throws(() => udpEnds({ end: { sum: { packets: 1, lost_packets: 0, seconds: 1, bytes: 36 } } }), /sum_sent/);
});

test('loss is never negative (duplicates) and 0 when nothing was sent', () => {
  assert.equal(lossPercent(100, 101), 0);
  assert.equal(lossPercent(0, 0), 0);
  assert.equal(lossPercent(200, 150), 25);
});
