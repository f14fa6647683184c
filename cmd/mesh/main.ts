#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --max-semi-space-size=2
// (Node reads NODE_EXTRA_CA_CERTS at start-up, before any of our code, and parses every certificate in it: 37 ms
// of a 59 ms start here with the Debian bundle. mesh makes no TLS connections, so the variable is dropped.
// A 2 MB young generation instead of V8's up to 16: the data path's garbage is short-lived, and handshake bursts
// grew the young generation for good. bench/resources.js: 7.7-8.2 -> 4.2-6.3 KiB per additional tunnel;
// bench/throughput.js: no loss, 1048 -> 1108 Mbit/s in one run.)
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
