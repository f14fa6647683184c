import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describeGapRows, gapSchedule, parseGaps, summarizeByGap } from '../../bench/gap-mix.js';

// bench/wake-probe.ts --gaps pings one process after mixed idle gaps and reports the replies by the gap before them,
// so the gap's own cost is read with the process's state (how many packets it has run) held equal.

test('the schedule repeats the gaps in their order, so each gap follows the same neighbour every round', () => {
  assert.deepEqual(gapSchedule([1, 0.01, 0.3], 3), [1, 0.01, 0.3, 1, 0.01, 0.3, 1, 0.01, 0.3]);
  assert.deepEqual(gapSchedule([1], 0), []);
});

test('replies are grouped by the gap before them: median, p90 and lost requests per gap, in first-seen order', () => {
  const samples = [
    { gapS: 1, rttMs: 1.0 },
    { gapS: 0.01, rttMs: 0.5 },
    { gapS: 1, rttMs: 0.5 },
    { gapS: 0.01, rttMs: undefined },
    { gapS: 1, rttMs: 4.0 },
    { gapS: 0.01, rttMs: 0.25 },
    { gapS: 1, rttMs: 0.75 },
  ];
  const rows = summarizeByGap(samples);
  assert.deepEqual(
    rows.map((r) => [r.gapS, r.replies, r.lost, r.medianMs, r.p90Ms]),
    [
      [1, 4, 0, 0.875, 4.0],
      [0.01, 2, 1, 0.375, 0.5],
    ],
  );
  assert.equal(
    describeGapRows(rows),
    'gap 1 s: median 0.875 p90 4.00 ms (4 replies), gap 0.01 s: median 0.375 p90 0.50 ms (2 replies, 1 lost)',
  );
});

test('a gap that is not a positive number of seconds up to 60 is refused', () => {
  assert.deepEqual(parseGaps('1, 0.01,0.3'), [1, 0.01, 0.3]);
  for (const bad of ['', '1,,2', '0', '-1', 'x', '61']) assert.throws(() => parseGaps(bad), /--gaps/, bad);
});
