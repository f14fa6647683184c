// The executables `mesh` and `mesh-cert` (dist/bin/mesh.cjs, dist/bin/mesh-cert.cjs): each runs its bundle
// (dist/bin/<name>.bundle.cjs) with the code cache the build made for it (pkg/launch/code-cache.ts).
// scripts/bundle.mjs builds this file once per executable, with LAUNCH_NAME set and this `#!` line in front:
//   #!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS MALLOC_ARENA_MAX=1 node
// - Node reads NODE_EXTRA_CA_CERTS at start-up, before any of our code, and parses every certificate in it: 37 ms
//   of a 59 ms start here with the Debian bundle. mesh makes no TLS connections, so the variable is dropped.
// - glibc gives each thread that allocates its own malloc arena, and V8's background threads (compiler, GC) keep
//   theirs full of freed memory. The data path runs on the main thread only, so one arena costs it nothing, and
//   it saves ~1.3 MiB at 1000 tunnels (bench/resources.js, KiB per additional tunnel 100 -> 1000: 8.2-10.1
//   with the default arenas, 5.4-5.8 with one). glibc reads the variable before any code runs, hence here.

import { join } from 'node:path';
import { runBundle } from '../../pkg/launch/code-cache.js';

declare const LAUNCH_NAME: string;

runBundle(join(__dirname, `${LAUNCH_NAME}.bundle.cjs`), join(__dirname, `${LAUNCH_NAME}.code-cache`));
