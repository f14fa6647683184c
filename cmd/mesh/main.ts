#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// (Node reads NODE_EXTRA_CA_CERTS at start-up, before any of our code, and parses every certificate in it: 37 ms
// of a 59 ms start here with the Debian bundle. mesh makes no TLS connections, so the variable is dropped.)
// `mesh`: the daemon (`mesh -config PATH`) and its client commands (`mesh status`, ...). Thin: see dispatch.ts.

import { exitWhenFlushed } from './cli-io.js';
import { runMesh } from './dispatch.js';

runMesh(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}).then(
  (code) => exitWhenFlushed(code),
  (e: Error) => {
    process.stderr.write(`mesh: ${e.message}\n`);
    exitWhenFlushed(1);
  },
);
