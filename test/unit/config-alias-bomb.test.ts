import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, ConfigErrorCode, loadConfig } from '../../pkg/config/index.js';
import { MAX_EXPANDED_VALUES } from '../../pkg/config/yaml-source.js';
import { reloadDaemon } from '../../pkg/daemon/daemon.js';
import { TestMesh } from './helpers/mesh.js';
import { configDir, PKI_YAML } from './helpers/config-dir.js';

// YAML aliases are shared by the parser but walked as copies by everything after it (the merge of a config
// directory, the readers), so a few lines of aliases can stand for billions of values. A config that expands to
// more than MAX_EXPANDED_VALUES is refused with one error, fast, at start, `-test` and reload alike.

const MESH_MAIN = fileURLToPath(new URL('../../cmd/mesh/main.js', import.meta.url));
// "Fast" with room for a loaded 2-core CI: refusing takes ~0.2 s, the unbounded expansion took 17.9 s (minutes at
// 9 levels). Node's own start-up counts against the same bound in the -test case.
const REFUSED_WITHIN_MS = 5000;

/** The classic: 9 levels of lists of 9 aliases to the level below, under `key`, starting on line `firstLine`. */
function billionLaughs(key: string): string {
  const lines = [`${key}:`, '  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i <= 8; i++)
    lines.push(
      `  l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n') + '\n';
}

/** Maps of 9 aliases to the level below, `levels` deep: what merging two such files copies grows as 9^levels. */
function aliasMaps(key: string, levels: number): string {
  const lines = [`${key}:`, '  m0: &m0 {k0: lol, k1: lol}'];
  for (let i = 1; i < levels; i++)
    lines.push(`  m${i}: &m${i} {${Array.from({ length: 9 }, (_, j) => `k${j}: *m${i - 1}`).join(', ')}}`);
  return lines.join('\n') + '\n';
}

function loadError(path: string): { err: ConfigError; ms: number } {
  const started = performance.now();
  try {
    loadConfig(path);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return { err, ms: performance.now() - started };
  }
  assert.fail('expected loadConfig to throw');
}

test(
  'a billion-laughs file is refused fast with one error naming the file and the line of the alias',
  { timeout: 15_000 },
  (t) => {
    const dir = configDir(t, { 'config.yml': `${PKI_YAML}${billionLaughs('firewall')}` });
    const file = join(dir, 'config.yml');
    const { err, ms } = loadError(file);
    assert.equal(err.code, ConfigErrorCode.tooLarge);
    assert.equal(err.file, file);
    assert.ok(err.line !== undefined && err.line >= 12 && err.line <= 14, `line ${err.line}: one of the last levels`);
    assert.match(err.message, /excessive aliasing/);
    assert.ok(ms < REFUSED_WITHIN_MS, `refused after ${ms.toFixed(0)} ms`);
  },
);

test(
  'two files whose aliases only together exceed the limit are refused at the second, naming it',
  { timeout: 15_000 },
  (t) => {
    // 6 levels are ~415k values; twice plus a reference to the top is ~1.2M: merging them used to copy every one.
    const half = (key: string): string => `${aliasMaps(key, 6)}  again: [*m5]\n`;
    const dir = configDir(t, { '10-base.yml': `${PKI_YAML}${half('shared')}`, '20-more.yml': half('shared') });
    assert.doesNotThrow(() => loadConfig(join(dir, '10-base.yml')), 'one file alone is within the limit');
    const { err, ms } = loadError(dir);
    assert.equal(err.code, ConfigErrorCode.tooLarge);
    assert.equal(err.file, join(dir, '20-more.yml'));
    assert.match(err.message, new RegExp(`more than ${MAX_EXPANDED_VALUES} values with the files before it`));
    assert.ok(ms < REFUSED_WITHIN_MS, `refused after ${ms.toFixed(0)} ms`);
  },
);

test('an ordinary use of anchors, aliases and merge keys is accepted', (t) => {
  const rules = Array.from({ length: 500 }, (_, i) => `    - {<<: *rule, port: ${i + 1}}`).join('\n');
  const dir = configDir(t, {
    'config.yml': `${PKI_YAML}x-rule: &rule {proto: tcp, host: any}\nfirewall:\n  outbound: [*rule]\n  inbound:\n${rules}\n`,
  });
  const loaded = loadConfig(join(dir, 'config.yml'));
  assert.equal(loaded.config.firewall.inbound.length, 500);
});

test(
  'mesh -test on a config directory with an alias bomb exits 1 with one error line, fast',
  { timeout: 15_000 },
  (t) => {
    const dir = configDir(t, {
      '10-base.yml': `${PKI_YAML}${aliasMaps('shared', 8)}`,
      '20-more.yml': aliasMaps('shared', 8),
    });
    const started = performance.now();
    const run = spawnSync(process.execPath, [MESH_MAIN, '-test', '-config', dir], {
      encoding: 'utf8',
      timeout: 12_000,
    });
    const ms = performance.now() - started;
    assert.equal(run.status, 1, `exit status ${run.status} (signal ${run.signal}): ${run.stderr}`);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^mesh: .*10-base\.yml:\d+: excessive aliasing: [^\n]*\n$/);
    // Node's own start is most of this; the config was read in well under a second.
    assert.ok(ms < REFUSED_WITHIN_MS, `took ${ms.toFixed(0)} ms`);
  },
);

test('a reload with an alias bomb is refused at once and the running config stays', { timeout: 15_000 }, async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.99.0.1' });
  const before = a.node.currentConfig();
  const dir = configDir(t, {
    '10-base.yml': `${PKI_YAML}${aliasMaps('shared', 8)}`,
    '20-more.yml': aliasMaps('shared', 8),
  });
  const started = performance.now();
  const outcome = await reloadDaemon(a.node, dir);
  const ms = performance.now() - started;
  assert.equal(outcome.ok, false);
  assert.match(outcome.ok ? '' : outcome.error, /excessive aliasing/);
  assert.equal(a.node.currentConfig(), before, 'the running config is kept');
  assert.ok(ms < REFUSED_WITHIN_MS, `refused after ${ms.toFixed(0)} ms`);
});
