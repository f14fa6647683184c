// Runs a CommonJS bundle (dist/bin/*.bundle.cjs) with a V8 code cache made at build time, so a cold start skips
// parsing and compiling the functions a start-up runs. Cold tunnel through a lighthouse (the lab of
// bench/latency.js, 9 trials of each in one run): 87-88 ms without a cache, 75-76 with one made after a real cold
// tunnel (scripts/train-code-cache.mjs); a cache made right after compiling (top-level code only) gave ~6 ms.
//
// node 20 has no compile cache for modules (module.enableCompileCache is node 22), so the bundle is compiled
// here with vm.Script and its cachedData, wrapped exactly as node's CommonJS loader would wrap it.
//
// The cache file is a build artifact next to the bundle, with the bundle's owner; only a process started with
// WRITE_CODE_CACHE_ENV (the build's training run) writes it, and only there. It starts with the SHA-256 of the
// bundle it was made from: V8's own check compares only the source's length, so a stale cache for a rebuilt bundle
// of the same length would otherwise run the old code. V8 still checks its version and flags and rejects a cache
// that does not match them; the bundle is then compiled from source.
//
// Code compiled by vm.Script gets no source maps, so under `node --enable-source-maps` the bundle is loaded by
// require() instead, without the cache, and stack traces point into the .ts files as before.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/**
 * Set (to 1) only by the build's training run: the process writes the code cache of every function compiled so
 * far, next to its bundle, when it exits. Such a process must leave V8's flags as they were at start, or V8 rejects
 * the cache it writes (pkg/daemon/young-generation.ts reads this too).
 */
export const WRITE_CODE_CACHE_ENV = 'MESH_WRITE_CODE_CACHE';

const DIGEST_LEN = 32;

/** Node's CommonJS wrapper, so the bundle sees the same `exports, require, module, __filename, __dirname`. */
function wrap(source: string): string {
  // A `#!` line is only valid at the very start of a script; the wrapper puts code before it.
  const body = source.startsWith('#!') ? '//' + source.slice(2) : source;
  return `(function (exports, require, module, __filename, __dirname) { ${body}\n});`;
}

function digest(source: Buffer): Buffer {
  return createHash('sha256').update(source).digest();
}

/** The V8 data of `cachePath` if it was made from `source`; undefined when missing or made from another bundle. */
export function readCodeCache(cachePath: string, source: Buffer): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(cachePath);
  } catch {
    return undefined;
  }
  if (file.length <= DIGEST_LEN || !file.subarray(0, DIGEST_LEN).equals(digest(source))) return undefined;
  return file.subarray(DIGEST_LEN);
}

export interface CompiledBundle {
  script: Script;
  /** The bundle's bytes, which a cache written later must be tagged with. */
  source: Buffer;
  /** True when a cache was found but V8 refused it (another node version or other V8 flags). */
  cacheRejected: boolean;
}

export function compileBundle(bundlePath: string, cachePath: string): CompiledBundle {
  // Hashed as bytes: hashing the decoded string would encode it back to UTF-8 first (~1 ms of a cold start).
  const source = readFileSync(bundlePath);
  const cachedData = readCodeCache(cachePath, source);
  const script = new Script(wrap(source.toString('utf8')), { filename: bundlePath, cachedData });
  return { script, source, cacheRejected: cachedData !== undefined && script.cachedDataRejected === true };
}

/** Writes the cache of everything `script` has compiled so far, tagged with the bundle it belongs to. */
export function writeCodeCache(cachePath: string, script: Script, source: Buffer): void {
  writeFileSync(cachePath, Buffer.concat([digest(source), script.createCachedData()]));
}

/** Compiles the bundle (with its cache when valid) and runs it as the main module would run. */
export function runBundle(bundlePath: string, cachePath: string): void {
  if (process.sourceMapsEnabled) {
    createRequire(bundlePath)(bundlePath);
    return;
  }
  const { script, source } = compileBundle(bundlePath, cachePath);
  if (process.env[WRITE_CODE_CACHE_ENV] === '1') process.once('exit', () => writeCodeCache(cachePath, script, source));
  const moduleFn = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {}, filename: bundlePath };
  moduleFn.call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
}
