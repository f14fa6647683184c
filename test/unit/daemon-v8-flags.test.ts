import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loopbackDaemonConfig } from './helpers/loopback-daemon.js';

// `mesh -config` sets its V8 flags at run time (pkg/launch/eager-feedback.ts before the start, pkg/launch/tier-up.ts
// after it) and says at debug level which it set. The functions have their own tests; this one guards that the daemon
// calls them: a daemon on loopback, without TUN, port mapping, lighthouses or warm-up, is started and stopped.

const MESH_MAIN = fileURLToPath(new URL('../../cmd/mesh/main.js', import.meta.url));
const LINE_WITHIN_MS = 10_000;

test(
  'a daemon sets its V8 flags at start: eager feedback and the lower interrupt budget',
  { timeout: 15_000 },
  async (t) => {
    const { config } = loopbackDaemonConfig(t, { name: 'v8-flags', logLevel: 'debug' });
    const { MESH_WRITE_CODE_CACHE: _training, NODE_OPTIONS: _options, ...env } = process.env;
    const child = spawn(process.execPath, [MESH_MAIN, '-config', config], {
      env: { ...env, MESH_WARM_UP: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    const line = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), LINE_WITHIN_MS);
      const read = (chunk: Buffer): void => {
        output += chunk.toString();
        const found = output.split('\n').find((l) => l.includes('V8 flags set at start'));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    assert.ok(line !== undefined, `no "V8 flags set at start" line:\n${output}`);
    assert.match(line, /eagerFeedback=true/);
    assert.match(line, /tierUp=true/);
  },
);
