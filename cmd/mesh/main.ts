// `mesh`: the daemon (`mesh -config PATH`) and its client commands (`mesh status`, ...). Thin: see dispatch.ts.

import { exitWhenFlushed } from './cli-io.js';
import { runMesh } from './dispatch.js';

runMesh(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  onInterrupt: (stop) => {
    process.once('SIGINT', stop);
    return () => process.removeListener('SIGINT', stop);
  },
}).then(
  (code) => exitWhenFlushed(code),
  (e: Error) => {
    process.stderr.write(`mesh: ${e.message}\n`);
    exitWhenFlushed(1);
  },
);
