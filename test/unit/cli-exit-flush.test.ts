import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

// `mesh status -json` with many tunnels prints more than a pipe holds; the CLI must not exit before a slow reader
// has it all. The child prints 1 MiB and exits; the reader starts only after the child has tried to exit.

const CLI_IO = new URL('../../cmd/mesh/cli-io.js', import.meta.url).href;
const BYTES = 1 << 20;

async function printThenExit(exit: string): Promise<{ received: number; code: number | null }> {
  const script = `import { exitWhenFlushed } from ${JSON.stringify(CLI_IO)};
process.stdout.write('x'.repeat(${BYTES}));
${exit}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  let received = 0;
  child.stdout.on('data', (chunk: Buffer) => (received += chunk.length));
  // A reader that falls behind: the child fills the pipe and tries to exit before anything is read.
  child.stdout.pause();
  setTimeout(() => child.stdout.resume(), 300);
  const code = await closed;
  return { received, code };
}

test('the mesh CLI exits only once a slow reader has everything it printed', async () => {
  assert.deepEqual(await printThenExit('exitWhenFlushed(3);'), { received: BYTES, code: 3 });
  // What it guards against: process.exit drops what the full pipe has not taken yet.
  const cut = await printThenExit('process.exit(3);');
  assert.equal(cut.code, 3);
  assert.ok(cut.received < BYTES, `process.exit delivered all ${cut.received} bytes`);
});
