import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Every node built-in module the bundle requires at its top level is loaded before the daemon does anything, so it
// is paid on every start and lands before the first handshake (the cold tunnel). Built-ins that only some starts
// need (a listen.host name to resolve, port mapping's HTTP) are loaded on first use instead; this test keeps them
// off the start path. Runs the built bundle (dist/bin, `make build`), as the cold tunnel does.

const BUNDLE = fileURLToPath(new URL('../../bin/mesh.bundle.cjs', import.meta.url));
const NOT_AT_START = ['dns/promises', 'http', 'https', 'fs/promises'];

const dir = mkdtempSync(join(tmpdir(), 'mesh-start-builtins-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function builtinsLoadedBy(args: string[]): string[] {
  // process.moduleLoadList names each built-in node loaded, as 'NativeModule <id>'.
  const preload = join(dir, 'list-builtins.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => require('node:fs').writeSync(2, '\\nBUILTINS ' + JSON.stringify(process.moduleLoadList) + '\\n'));\n",
  );
  const r = spawnSync(process.execPath, ['-r', preload, BUNDLE, ...args], { encoding: 'utf8', timeout: 10_000 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('BUILTINS '));
  assert.ok(line, `no module list from the bundle: status ${r.status}, stderr ${r.stderr.slice(0, 500)}`);
  return (JSON.parse(line.slice('BUILTINS '.length)) as string[])
    .filter((m) => m.startsWith('NativeModule '))
    .map((m) => m.slice('NativeModule '.length));
}

test(
  'the bundle loads no built-in that only some starts need',
  { skip: !existsSync(BUNDLE) && 'no dist/bin bundle: run make build' },
  () => {
    const loaded = builtinsLoadedBy(['-version']);
    assert.ok(loaded.includes('net'), `the list is read (node:net is always loaded): ${loaded.join(' ')}`);
    assert.deepEqual(
      NOT_AT_START.filter((m) => loaded.includes(m)),
      [],
      'a top-level import of one of these built-ins: import it where it is used (await import)',
    );
  },
);
