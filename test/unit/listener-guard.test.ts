// No socket listener can let an exception end the process (issue 14, fault 1): every socket kind guards the
// callbacks it was given, and the daemon's last-resort handler keeps serving on what escaped everything. Runs in a
// child process, so an unguarded listener shows up as a dead child, not as a failure inside this runner.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EscapedErrors, LOG_INTERVAL_MS } from '../../pkg/log/escaped-errors.js';

const CHILD = fileURLToPath(new URL('./helpers/throwing-listeners-child.js', import.meta.url));

test('a throwing listener on every socket kind drops its input and the process keeps serving', () => {
  const r = spawnSync(process.execPath, [CHILD], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `child died (signal ${r.signal}): ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim()) as {
    seen: Record<string, number>;
    counts: Record<string, number>;
    drops: Record<string, number>;
    logLines: number;
  };
  // Each connection kept delivering after the first throw: all three datagrams reached the listener.
  assert.equal(out.seen.dgram, 3);
  assert.ok(out.seen.batch === 3 || out.seen.batch === -1, `batch conn saw ${out.seen.batch}`);
  assert.equal(out.seen.memory, 3);
  const udp = 3 + 3 + (out.seen.batch === 3 ? 3 : 0);
  assert.deepEqual(out.counts, { udp, tun: 2, dns: 1, metrics: 1, process: 2 });
  // The daemon's policy counted each as a drop, and logged a rate-limited few of them.
  assert.deepEqual(out.drops, out.counts);
  assert.ok(out.logLines >= 1 && out.logLines <= 3, `${out.logLines} log lines`);
});

test('escaped errors are logged at most once per interval, with how many were left out', () => {
  let now = 0;
  const errors = new EscapedErrors(() => now);
  const logged: Array<[string, number]> = [];
  errors.sink = (source, _e, suppressed) => logged.push([source, suppressed]);
  for (let i = 0; i < 1000; i++) errors.report('udp', new Error('x'));
  now += LOG_INTERVAL_MS;
  errors.report('tun', new Error('y'));
  assert.deepEqual(logged, [
    ['udp', 0],
    ['tun', 999],
  ]);
  assert.equal(errors.count('udp'), 1000);
});

test('a sink that throws does not turn a report into an exception', () => {
  const errors = new EscapedErrors(() => 0);
  errors.sink = () => {
    throw new Error('stderr closed');
  };
  assert.doesNotThrow(() => errors.report('udp', new Error('x')));
});
