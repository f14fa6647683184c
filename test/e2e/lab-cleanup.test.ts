import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { sweepStaleLabs } from './lab/cleanup.js';
import { execIn } from './lab/exec.js';
import { waitFor } from './lab/wait.js';

// The lab cleans up after tests that fail, processes that are told to stop, and (on request) processes that died.
// Each case runs a small script in a child node process that builds a lab, reports it, and then comes to its end.

const LAB_MODULE = new URL('./lab/lab.js', import.meta.url).href;

/** Script prelude: builds a lab with one namespace running `sleep`, prints {prefix, tmpdir, sleepPid}. */
const BUILD_LAB = `
import { Lab } from ${JSON.stringify(LAB_MODULE)};
async function buildLab(t) {
  const lab = await Lab.create(t);
  const host = await lab.addHost('a');
  const sleeper = await lab.spawn(host, 'sleep', ['60']);
  console.log(JSON.stringify({ prefix: lab.prefix, tmpdir: lab.tmpdir, sleepPid: sleeper.pid }));
  return lab;
}
`;

interface Reported {
  prefix: string;
  tmpdir: string;
  sleepPid: number;
}

interface ChildRun {
  reported: Promise<Reported>;
  exited: Promise<number | null>;
  pid: number;
}

function runScript(dir: string, body: string): ChildRun {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, BUILD_LAB + body);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const reported = new Promise<Reported>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /\{"prefix".*\}/.exec(out);
      if (line !== null) resolve(JSON.parse(line[0]) as Reported);
    });
    child.once('exit', () => reject(new Error(`script exited without reporting its lab:\n${out}\n${err}`)));
  });
  reported.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { reported, exited, pid: child.pid as number };
}

async function assertGone(lab: Reported): Promise<void> {
  const namespaces = (await execIn(null, 'ip', ['netns', 'list'])).stdout;
  assert.ok(!namespaces.includes(lab.prefix), `namespaces left behind:\n${namespaces}`);
  await waitFor(() => !alive(lab.sleepPid), { timeoutMs: 3000, what: `process ${lab.sleepPid} to be gone` });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a lab registered with a failing test is torn down after the test', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-lab-cleanup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = runScript(
    dir,
    `
import { test } from 'node:test';
test('fails', async (t) => {
  await buildLab(t);
  throw new Error('deliberate failure');
});
`,
  );

  const lab = await run.reported;
  assert.notEqual(await run.exited, 0);
  await assertGone(lab);
});

test('a process stopped with SIGTERM tears down its labs on the way out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-lab-cleanup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = runScript(
    dir,
    `
await buildLab();
setTimeout(() => {}, 60_000);
`,
  );

  const lab = await run.reported;
  assert.match((await execIn(null, 'ip', ['netns', 'list'])).stdout, new RegExp(lab.prefix));
  process.kill(run.pid, 'SIGTERM');
  assert.equal(await run.exited, 143);
  await assertGone(lab);
});

test('sweepStaleLabs deletes the namespaces of a lab whose process was killed outright', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-lab-cleanup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = runScript(
    dir,
    `
await buildLab();
setTimeout(() => {}, 60_000);
`,
  );

  const lab = await run.reported;
  t.after(() => rmSync(lab.tmpdir, { recursive: true, force: true }));
  process.kill(run.pid, 'SIGKILL');
  await run.exited;
  assert.match((await execIn(null, 'ip', ['netns', 'list'])).stdout, new RegExp(lab.prefix));

  const swept = sweepStaleLabs();

  assert.ok(
    swept.some((ns) => ns.startsWith(lab.prefix)),
    `swept: ${swept.join(', ')}`,
  );
  await assertGone(lab);
});
