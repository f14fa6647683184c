import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freeUdpAndTcpPort } from './helpers/free-port.js';
import { loopbackDaemonConfig } from './helpers/loopback-daemon.js';

// A V8 flag set at run time changes V8's flag hash, so every node built-in first loaded after it compiles without its
// code cache (pkg/launch/eager-feedback.ts: 7 such modules cost 11-18 ms against ~4). The daemon loads the ones it
// needs later (DAEMON_BUILTINS, a hand list) before its first flag; this guards the list against a later change that
// makes the daemon load another built-in during or after its start. The built bundle (dist/bin, `make build`), as a
// daemon runs it, on loopback with its control socket, without TUN or port mapping (HTTP), as a node and as a
// lighthouse (its young-generation ceiling observes GCs through perf_hooks), each until its start-up warm-up has
// ended (its own log line: without a tunnel it starts WARM_UP_FALLBACK_MS after start); a preload notes how many
// modules node had loaded at the daemon's first setFlagsFromString.

const BUNDLE = fileURLToPath(new URL('../../bin/mesh.bundle.cjs', import.meta.url));
const STARTED_WITHIN_MS = 10_000;
/** The warm-up starts 3 s after the start without a tunnel (WARM_UP_FALLBACK_MS) and runs for well under a second. */
const WARMED_WITHIN_MS = 15_000;
const WARM_UP_ENDED = /msg="(Warm-up done|Warm-up did not complete[^"]*)"/;

const PRELOAD = `
const v8 = require('node:v8');
const set = v8.setFlagsFromString;
let mark = -1;
v8.setFlagsFromString = function (flag) {
  if (mark < 0) mark = process.moduleLoadList.length;
  return set.call(this, flag);
};
require('node:module').syncBuiltinESMExports();
process.on('exit', () =>
  require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify({ mark, list: process.moduleLoadList }) + '\\n'),
);
`;

/** Resolves true once `output()` matches `pattern`, false at `withinMs` or when the process exits first. */
function waitFor(
  child: ChildProcess,
  output: () => string,
  pattern: RegExp,
  withinMs: number,
  exited: Promise<void>,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), withinMs);
    const read = (): void => {
      if (pattern.test(output())) finish(true);
    };
    const finish = (seen: boolean): void => {
      clearTimeout(timer);
      child.stdout?.off('data', read);
      child.stderr?.off('data', read);
      resolve(seen);
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    void exited.then(() => finish(false));
    read();
  });
}

/** The daemon's module list at exit and where its first run-time flag was, after its warm-up ended. */
async function modulesLoaded(
  t: TestContext,
  name: string,
  lighthouse: boolean,
): Promise<{ mark: number; list: string[] }> {
  const { dir, config } = loopbackDaemonConfig(t, {
    name,
    logLevel: 'debug',
    files: { 'preload.cjs': PRELOAD },
    ...(lighthouse ? { port: await freeUdpAndTcpPort(), extraConfig: 'lighthouse: { am_lighthouse: true }' } : {}),
  });
  const { MESH_WRITE_CODE_CACHE: _training, NODE_OPTIONS: _options, MESH_WARM_UP: _warm, ...env } = process.env;
  const child = spawn(process.execPath, ['-r', join(dir, 'preload.cjs'), BUNDLE, '-config', config], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const log = (): string => output;
  assert.ok(
    await waitFor(child, log, /Control socket listening/, STARTED_WITHIN_MS, exited),
    `the daemon did not start:\n${output}`,
  );
  assert.ok(
    await waitFor(child, log, WARM_UP_ENDED, WARMED_WITHIN_MS, exited),
    `the warm-up did not end:\n${output.slice(-2000)}`,
  );
  child.kill('SIGTERM');
  await exited;
  const line = output.split('\n').find((l) => l.startsWith('LOADED '));
  assert.ok(line !== undefined, `no module list at exit:\n${output.slice(-2000)}`);
  return JSON.parse(line.slice('LOADED '.length)) as { mark: number; list: string[] };
}

function assertNoneAfterFlag({ mark, list }: { mark: number; list: string[] }): void {
  assert.ok(mark > 0, 'the daemon set a V8 flag at run time (eager feedback)');
  assert.ok(list.includes('NativeModule net'), 'the list names node built-ins');
  const late = list.slice(mark).filter((m) => m.startsWith('NativeModule '));
  assert.deepEqual(late, [], 'built-ins first loaded after the flag: preload them in DAEMON_BUILTINS');
}

const SKIP = !existsSync(BUNDLE) && 'no dist/bin bundle: run make build';

test(
  'a daemon loads no node built-in after its first run-time V8 flag (DAEMON_BUILTINS is complete)',
  { skip: SKIP, timeout: 30_000 },
  async (t) => assertNoneAfterFlag(await modulesLoaded(t, 'flag-builtins', false)),
);

test(
  'a lighthouse loads no node built-in after its first run-time V8 flag either',
  { skip: SKIP, timeout: 30_000 },
  async (t) => assertNoneAfterFlag(await modulesLoaded(t, 'flag-builtins-lh', true)),
);
