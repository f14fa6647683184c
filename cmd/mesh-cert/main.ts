#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// (Node reads NODE_EXTRA_CA_CERTS at start-up, before any of our code, and parses every certificate in it: 37 ms
// of a 59 ms start here with the Debian bundle. mesh makes no TLS connections, so the variable is dropped.)
// `mesh-cert`: nebula-cert compatible certificate tool. Thin: all behaviour lives in the subcommand modules.

import { runMeshCert } from './dispatch.js';

runMeshCert(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
