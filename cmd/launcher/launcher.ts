// The executables `mesh` and `mesh-cert` (dist/bin/mesh.cjs, dist/bin/mesh-cert.cjs): each runs its bundle
// (dist/bin/<name>.bundle.cjs) with the code cache the build made for it (pkg/launch/code-cache.ts).
// scripts/bundle.mjs builds this file once per executable, with LAUNCH_NAME set and this `#!` line in front:
//   #!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// Node reads NODE_EXTRA_CA_CERTS at start-up, before any of our code, and parses every certificate in it: 37 ms
// of a 59 ms start here with the Debian bundle. mesh makes no TLS connections, so the variable is dropped.

import { join } from 'node:path';
import { runBundle } from '../../pkg/launch/code-cache.js';

declare const LAUNCH_NAME: string;

runBundle(join(__dirname, `${LAUNCH_NAME}.bundle.cjs`), join(__dirname, `${LAUNCH_NAME}.code-cache`));
