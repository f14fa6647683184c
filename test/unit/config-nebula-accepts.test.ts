// The example configs and the every-key fixture must also be valid for the reference peer: `nebula -test` (1.6.1)
// loads each one with freshly made certificates. Skipped when nebula / nebula-cert are not installed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../pkg/config/index.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const NEBULA = '/usr/bin/nebula';
const NEBULA_CERT = '/usr/bin/nebula-cert';
const skip = !existsSync(NEBULA) || !existsSync(NEBULA_CERT) ? 'nebula 1.6.1 not installed' : false;

const CONFIGS: [string, (text: string) => string][] = [
  ['examples/config.yml', (text) => text.replaceAll('/etc/mesh/', '')],
  ['examples/lighthouse.yml', (text) => text],
  ['examples/node.yml', (text) => text],
  // The fixture names a host that only has to look like a name for us; nebula resolves it.
  ['test/fixtures/config/every-key.yml', (text) => text.replace('lighthouse.example.net', 'localhost')],
];

for (const [name, adapt] of CONFIGS) {
  test(`nebula -test accepts ${name}, which mesh also loads`, { skip }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), `mesh-config-nebula-${process.pid}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = (file: string, args: string[]): string =>
      execFileSync(file, args, { cwd: dir, timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

    run(NEBULA_CERT, ['ca', '-name', 'config-test-ca']);
    run(NEBULA_CERT, ['sign', '-name', 'host', '-ip', '192.168.100.5/24']);
    for (const role of ['lighthouse', 'node']) {
      copyFileSync(join(dir, 'host.crt'), join(dir, `${role}.crt`));
      copyFileSync(join(dir, 'host.key'), join(dir, `${role}.key`));
    }
    const config = join(dir, 'config.yml');
    writeFileSync(config, adapt(readFileSync(join(REPO, name), 'utf8')));

    loadConfig(config);
    try {
      run(NEBULA, ['-test', '-config', config]);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      assert.fail(`nebula -test refused ${name}:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  });
}
