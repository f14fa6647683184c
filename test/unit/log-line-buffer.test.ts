// The logger's default output (pkg/log/line-buffer.ts): the lines of one task leave in one write, in order, at the
// end of the task; a large backlog goes at once; a process that exits right after logging still writes its lines.
// And the text format itself, which the line buffer carries unchanged.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { LineBuffer, MAX_PENDING_CHARS } from '../../pkg/log/line-buffer.js';
import { Logger } from '../../pkg/log/logger.js';

function manual(): { buffer: LineBuffer; writes: string[]; runDeferred: () => void } {
  const writes: string[] = [];
  const deferred: Array<() => void> = [];
  const buffer = new LineBuffer(
    (text) => writes.push(text),
    (fn) => deferred.push(fn),
  );
  return { buffer, writes, runDeferred: () => deferred.splice(0).forEach((fn) => fn()) };
}

test("one task's lines leave in one write at its end, in order", () => {
  const { buffer, writes, runDeferred } = manual();
  buffer.write('one');
  buffer.write('two');
  buffer.write('three');
  assert.deepEqual(writes, [], 'nothing before the end of the task');
  runDeferred();
  assert.deepEqual(writes, ['one\ntwo\nthree\n']);
  runDeferred();
  assert.deepEqual(writes, ['one\ntwo\nthree\n'], 'no empty write');
  buffer.write('four');
  runDeferred();
  assert.deepEqual(writes, ['one\ntwo\nthree\n', 'four\n']);
});

test('a warning or an error leaves at once, after the lines queued before it; info and debug wait for the task', () => {
  const { buffer, writes, runDeferred } = manual();
  const log = new Logger('debug', 'text', buffer, true);
  log.info('before');
  log.debug('also before');
  assert.deepEqual(writes, [], 'info and debug wait');
  log.error('stuck');
  assert.deepEqual(writes, ['level=info msg="before"\nlevel=debug msg="also before"\nlevel=error msg="stuck"\n']);
  log.info('after');
  log.warn('warned');
  assert.equal(writes.length, 2, 'a warning leaves at once too');
  assert.equal(writes[1], 'level=info msg="after"\nlevel=warning msg="warned"\n');
  log.info('last');
  runDeferred();
  assert.deepEqual(writes.slice(2), ['level=info msg="last"\n'], 'one flush at the end of the task, nothing twice');
});

test('a backlog of MAX_PENDING_CHARS is written at once, without waiting for the task to end', () => {
  const { buffer, writes } = manual();
  const line = 'x'.repeat(1023);
  for (let i = 0; i < MAX_PENDING_CHARS / 1024; i++) buffer.write(line);
  assert.equal(writes.length, 1);
  assert.equal(writes[0].length, MAX_PENDING_CHARS);
});

test('a failing output loses the lines but does not throw into the logging code', () => {
  const buffer = new LineBuffer(
    () => {
      throw new Error('EPIPE');
    },
    (fn) => fn(),
  );
  assert.doesNotThrow(() => buffer.write('lost'));
});

test('a process that exits right after logging still writes the line (flushed on exit)', () => {
  const logger = fileURLToPath(new URL('../../pkg/log/logger.js', import.meta.url));
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { Logger } = await import(${JSON.stringify(logger)});
       const log = new Logger('info', 'text', undefined, true);
       log.error('fatal thing', { code: 3 });
       log.info('and after it');
       process.exit(3);`,
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  assert.equal(child.status, 3, child.stderr);
  assert.equal(child.stderr, 'level=error msg="fatal thing" code=3\nlevel=info msg="and after it"\n');
});

test('an error logged by a task that never ends is on stderr before the process is killed', async () => {
  const logger = fileURLToPath(new URL('../../pkg/log/logger.js', import.meta.url));
  // The child logs, then spins (bounded at 20 s) as a hung task would; it is killed once the line arrives, or at 10 s.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { Logger } = await import(${JSON.stringify(logger)});
       const log = new Logger('info', 'text', undefined, true);
       log.info('queued first');
       log.error('about to hang');
       const end = Date.now() + 20_000;
       while (Date.now() < end);`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const expected = 'level=info msg="queued first"\nlevel=error msg="about to hang"\n';
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.length < expected.length) return;
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(stderr, expected);
});

test('the text format: fields in order, undefined ones left out, values with spaces, quotes or = quoted', () => {
  const lines: string[] = [];
  const log = new Logger('info', 'text', (l) => lines.push(l), true);
  log.info('Handshake completed (responder)', {
    vpnIp: '10.0.0.2',
    vpnAddrs: undefined,
    certName: 'node "b"',
    localIndex: 7,
    proven: true,
    note: 'a=b',
  });
  log.info('bare');
  log.debug('not at info');
  assert.deepEqual(lines, [
    'level=info msg="Handshake completed (responder)" vpnIp=10.0.0.2 certName="node \\"b\\"" localIndex=7 proven=true note="a=b"',
    'level=info msg="bare"',
  ]);
});
