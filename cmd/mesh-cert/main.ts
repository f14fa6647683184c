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
