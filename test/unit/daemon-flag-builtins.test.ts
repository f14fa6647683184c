import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loopbackDaemonConfig } from './helpers/loopback-daemon.js';

// A V8 flag set at run time changes V8's flag hash, so every node built-in first loaded after it compiles without its
// code cache (pkg/launch/eager-feedback.ts: 7 such modules cost 11-18 ms against ~4). The daemon loads the ones it
// needs later (DAEMON_BUILTINS, a hand list) before its first flag; this guards the list against a later change that
// makes the daemon load another built-in during or after its start. The built bundle (dist/bin, `make build`), as a
// daemon runs it, on loopback with its control socket and the start-up warm-up, without TUN, port mapping (HTTP) or
// lighthouses; a preload notes how many modules node had loaded at the daemon's first setFlagsFromString.

const BUNDLE = fileURLToPath(new URL('../../bin/mesh.bundle.cjs', import.meta.url));
/** After the control socket listens: the warm-up and the first timers' turns (all within ~1.5 s of start). */
const RUN_AFTER_START_MS = 2500;
const STARTED_WITHIN_MS = 10_000;

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

test(
  'a daemon loads no node built-in after its first run-time V8 flag (DAEMON_BUILTINS is complete)',
  { skip: !existsSync(BUNDLE) && 'no dist/bin bundle: run make build', timeout: 20_000 },
  async (t) => {
    const { dir, config } = loopbackDaemonConfig(t, {
      name: 'flag-builtins',
      logLevel: 'info',
      files: { 'preload.cjs': PRELOAD },
    });
    const { MESH_WRITE_CODE_CACHE: _training, NODE_OPTIONS: _options, MESH_WARM_UP: _warm, ...env } = process.env;
    const child = spawn(process.execPath, ['-r', join(dir, 'preload.cjs'), BUNDLE, '-config', config], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const listening = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), STARTED_WITHIN_MS);
      const read = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Control socket listening')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      void exited.then(() => resolve(false));
    });
    assert.ok(await listening, `the daemon did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, RUN_AFTER_START_MS));
    child.kill('SIGTERM');
    await exited;
    const line = output.split('\n').find((l) => l.startsWith('LOADED '));
    assert.ok(line !== undefined, `no module list at exit:\n${output.slice(-2000)}`);
    const { mark, list } = JSON.parse(line.slice('LOADED '.length)) as { mark: number; list: string[] };
    assert.ok(mark > 0, 'the daemon set a V8 flag at run time (eager feedback)');
    assert.ok(list.includes('NativeModule net'), 'the list names node built-ins');
    const late = list.slice(mark).filter((m) => m.startsWith('NativeModule '));
    assert.deepEqual(late, [], 'built-ins first loaded after the flag: preload them in DAEMON_BUILTINS');
  },
);
