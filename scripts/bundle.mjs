// Bundles the compiled CLIs (dist/cmd/*/main.js, from tsc) with their dependencies into one file each,
// dist/bin/mesh.bundle.cjs and dist/bin/mesh-cert.bundle.cjs, and builds the executables package.json's "bin"
// ships, dist/bin/mesh.cjs and dist/bin/mesh-cert.cjs: small launchers (cmd/launcher) that run their bundle with
// the code cache scripts/train-code-cache.mjs makes next. Node then reads one file instead of ~170 small ones,
// which halves start-up (and so the cold-tunnel time). CommonJS rather than ESM: node's ESM loader is ~20 more
// internal modules to load (`mesh -version` 43 against 45 ms; 51 against 61 ms when a V8 flag costs node the code
// cache of its internal modules), and node 20 offers a code cache only to scripts. Not minified, so stack traces
// stay readable; the linked source map goes back to the .ts files under `node --enable-source-maps`.
// Run by `make build` after tsc: `node scripts/bundle.mjs`.

import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const ENTRIES = {
  mesh: 'dist/cmd/mesh/main.js',
  'mesh-cert': 'dist/cmd/mesh-cert/main.js',
};
const OUT_DIR = 'dist/bin';
const SHEBANG = '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS MALLOC_ARENA_MAX=1 node'; // why: cmd/launcher/launcher.ts

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
};

// What an earlier build may have left: caches made from the previous bundles (refused anyway, their digest no
// longer matches; removed so a failed training leaves none rather than a useless one), and the source maps of
// the builds whose executables were the bundles themselves.
for (const name of Object.keys(ENTRIES)) {
  for (const stale of [`${name}.code-cache`, `${name}.cjs.map`]) rmSync(`${ROOT}/${OUT_DIR}/${stale}`, { force: true });
}

// The NATS client of a lighthouse tier (lighthouse.store, pkg/lighthouse/store/nats-client.ts) is a chunk of its own,
// dist/bin/lighthouse-nats.bundle.cjs, required only when a lighthouse connects to NATS: ~0.4 MB that every other
// daemon would otherwise parse at start-up.
const NATS_CHUNK = 'lighthouse-nats.bundle.cjs';
const natsChunk = {
  name: 'nats-chunk',
  setup(b) {
    b.onResolve({ filter: /(^|\/)nats-client\.js$/ }, () => ({ path: `./${NATS_CHUNK}`, external: true }));
  },
};
await build({
  ...common,
  entryPoints: ['dist/pkg/lighthouse/store/nats-client.js'],
  outfile: `${OUT_DIR}/${NATS_CHUNK}`,
});

await build({
  ...common,
  plugins: [natsChunk],
  entryPoints: Object.entries(ENTRIES).map(([name, entry]) => ({ in: entry, out: `${name}.bundle` })),
  outdir: OUT_DIR,
  outExtension: { '.js': '.cjs' },
  // The bundle no longer sits three levels below package.json, so the version is written in (see version()).
  // import.meta does not exist in CommonJS: the bundle's own file URL stands in (the addon is found from it).
  define: { MESH_VERSION: JSON.stringify(version), 'import.meta.url': 'bundleFileUrl' },
  // The launcher compiles the bundle with vm.Script, where `import()` would need a loader callback: node built-ins
  // loaded on first use (`await import('node:http')`) become require() calls instead.
  supported: { 'dynamic-import': false },
  banner: { js: 'const bundleFileUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: 'linked',
  sourcesContent: false,
});

for (const name of Object.keys(ENTRIES)) {
  const outfile = `${ROOT}/${OUT_DIR}/${name}.cjs`;
  await build({
    ...common,
    entryPoints: ['dist/cmd/launcher/launcher.js'],
    outfile,
    define: { LAUNCH_NAME: JSON.stringify(name) },
    banner: { js: SHEBANG },
  });
  chmodSync(outfile, 0o755);
}
