// Bundles the compiled CLIs (dist/cmd/*/main.js, from tsc) with their dependencies into one file each,
// dist/bin/mesh.mjs and dist/bin/mesh-cert.mjs, the executables package.json's "bin" ships. Node's ESM loader then
// reads one file instead of ~170 small ones, which halves start-up (and so the cold-tunnel time). Not minified, so
// stack traces stay readable; the linked source map goes back to the .ts files under `node --enable-source-maps`.
// Run by `make build` after tsc: `node scripts/bundle.mjs`.

import { chmodSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const ENTRIES = {
  mesh: 'dist/cmd/mesh/main.js',
  'mesh-cert': 'dist/cmd/mesh-cert/main.js',
};
const OUT_DIR = 'dist/bin';

await build({
  absWorkingDir: ROOT,
  entryPoints: Object.entries(ENTRIES).map(([out, entry]) => ({ in: entry, out })),
  outdir: OUT_DIR,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The bundle no longer sits three levels below package.json, so the version is written in (see version()).
  define: { MESH_VERSION: JSON.stringify(version) },
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});

for (const out of Object.keys(ENTRIES)) chmodSync(`${ROOT}/${OUT_DIR}/${out}.mjs`, 0o755);
