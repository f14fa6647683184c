import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { compileBundle, readCodeCache, WRITE_CODE_CACHE_ENV, writeCodeCache } from '../../pkg/launch/code-cache.js';

// The launchers run a CommonJS bundle with a code cache made at build time. A cache is used only with the bundle
// it was made from; anything else (no file, another bundle, data V8 refuses) falls back to compiling the source.

const dir = mkdtempSync(join(tmpdir(), 'mesh-code-cache-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CODE_CACHE_JS = fileURLToPath(new URL('../../pkg/launch/code-cache.js', import.meta.url));

// A bundle in the shape esbuild writes: a `#!` line, then code using the CommonJS wrapper's names.
const BUNDLE = `#!/usr/bin/env node
"use strict";
const path = require("node:path");
function greet(name) { return "hello " + name; }
module.exports.seen = { base: path.basename(__filename), dir: __dirname, same: exports === module.exports };
process.stdout.write(greet("bundle") + " " + JSON.stringify(module.exports.seen));
`;

function writeBundle(name: string, source = BUNDLE): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

test('a cache is read back only for the bundle it was made from', () => {
  const bundle = writeBundle('a.bundle.cjs');
  const cache = join(dir, 'a.code-cache');
  assert.equal(readCodeCache(cache, Buffer.from(BUNDLE)), undefined, 'no file');
  const { script, source } = compileBundle(bundle, cache);
  writeCodeCache(cache, script, source);
  assert.ok((readCodeCache(cache, Buffer.from(BUNDLE))?.length ?? 0) > 0);
  // Same length, other code: V8 alone would accept this cache, the digest does not.
  const other = BUNDLE.replace('hello', 'howdy');
  assert.equal(other.length, BUNDLE.length);
  assert.equal(readCodeCache(cache, Buffer.from(other)), undefined);
  assert.equal(compileBundle(writeBundle('other.bundle.cjs', other), cache).cacheRejected, false);
});

test('data V8 refuses is reported, and the bundle is compiled from source instead', () => {
  // A source this process has not compiled yet: V8 would otherwise take it from its own compilation cache and
  // never look at the data.
  const source = BUNDLE + '// refused\n';
  const bundle = writeBundle('b.bundle.cjs', source);
  const cache = join(dir, 'b.code-cache');
  writeFileSync(cache, Buffer.concat([createHash('sha256').update(source).digest(), Buffer.alloc(4096, 0x5a)]));
  const refused = compileBundle(bundle, cache);
  assert.equal(refused.cacheRejected, true);
  assert.equal(typeof refused.script.runInThisContext(), 'function');
});

test('runBundle runs the bundle as the main module would, and writes a cache on exit only when asked', () => {
  const bundle = writeBundle('c.bundle.cjs');
  const cache = join(dir, 'c.code-cache');
  const launch = `import(${JSON.stringify(CODE_CACHE_JS)}).then((m) => m.runBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}));`;
  const runs = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['-e', launch], { encoding: 'utf8', env: { ...process.env, ...env } });

  const plain = runs({ [WRITE_CODE_CACHE_ENV]: '' });
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout, `hello bundle ${JSON.stringify({ base: 'c.bundle.cjs', dir, same: true })}`);
  assert.equal(readCodeCache(cache, Buffer.from(BUNDLE)), undefined, 'nothing written without the variable');

  const training = runs({ [WRITE_CODE_CACHE_ENV]: '1' });
  assert.equal(training.status, 0, training.stderr);
  assert.ok(readCodeCache(cache, Buffer.from(BUNDLE)), 'written on exit');
  // Checked in a fresh process, whose V8 has not compiled the bundle yet.
  const check = `import(${JSON.stringify(CODE_CACHE_JS)}).then((m) => process.stdout.write(String(m.compileBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}).cacheRejected)));`;
  assert.equal(spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' }).stdout, 'false');

  const cached = runs({ [WRITE_CODE_CACHE_ENV]: '' });
  assert.equal(cached.stdout, plain.stdout);

  // Under --enable-source-maps the bundle is required instead (vm.Script code gets no source maps): same result.
  const mapped = spawnSync(process.execPath, ['--enable-source-maps', '-e', launch], { encoding: 'utf8' });
  assert.equal(mapped.status, 0, mapped.stderr);
  assert.equal(mapped.stdout, plain.stdout);
});

test('the shipped bundles make no import() call, which code compiled by vm.Script cannot run', () => {
  for (const name of ['mesh', 'mesh-cert']) {
    const bundle = readFileSync(fileURLToPath(new URL(`../../bin/${name}.bundle.cjs`, import.meta.url)), 'utf8');
    assert.doesNotMatch(bundle, /\bimport\(/, `${name}.bundle.cjs`);
  }
});
