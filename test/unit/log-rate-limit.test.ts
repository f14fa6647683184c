import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { Logger } from '../../pkg/log/logger.js';
import { RateLimitedLog } from '../../pkg/log/rate-limit.js';

function setup(level: 'info' | 'warning' = 'info') {
  const lines: string[] = [];
  const clock = new ManualClock(1000);
  const log = new RateLimitedLog(new Logger(level, 'text', (l) => lines.push(l), true), clock, {
    burst: 3,
    windowMs: 10_000,
  });
  return { lines, clock, log };
}

test('a rate-limited log writes its burst per window and drops the rest', () => {
  const { lines, log } = setup();
  const written = Array.from({ length: 10_000 }, (_, i) => log.info('Relay established as target', { n: i })).filter(
    Boolean,
  ).length;
  assert.equal(written, 3);
  assert.deepEqual(lines, [
    'level=info msg="Relay established as target" n=0',
    'level=info msg="Relay established as target" n=1',
    'level=info msg="Relay established as target" n=2',
  ]);
});

test('the first line of a later window says how many lines were dropped before it', () => {
  const { lines, clock, log } = setup();
  for (let i = 0; i < 8; i++) log.info('line', { n: i });
  clock.advance(9_999);
  assert.equal(log.info('line', { n: 8 }), false, 'still the first window');
  clock.advance(1);
  assert.equal(log.info('line', { n: 9 }), true);
  assert.equal(lines.at(-1), 'level=info msg="line" n=9 suppressed=6');
  log.info('line', { n: 10 });
  assert.equal(lines.at(-1), 'level=info msg="line" n=10', 'the count is reported once');
});

test('lines below the logger level neither print nor spend the budget', () => {
  const { lines, log } = setup('warning');
  for (let i = 0; i < 5; i++) log.info('quiet');
  assert.equal(log.write('warning', 'loud'), true);
  assert.deepEqual(lines, ['level=warning msg="loud"']);
});
