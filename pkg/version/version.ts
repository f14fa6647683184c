// The version `mesh -version` and `mesh-cert -version` print.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Written in by the bundler (scripts/bundle.mjs); the unbundled tree reads package.json instead.
declare const MESH_VERSION: string | undefined;

export function version(): string {
  if (typeof MESH_VERSION === 'string') return MESH_VERSION;
  try {
    // dist/pkg/version/version.js -> package.json at the package root
    const pkgPath = fileURLToPath(new URL('../../../package.json', import.meta.url));
    return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
