// Keeps V8's young generation at its initial size (1 MB semi-spaces) for the daemon's lifetime.
//
// V8 grows the young generation, up to 16 MB semi-spaces, while many young objects survive, which a burst of
// handshakes causes, and the resident set keeps most of that afterwards. The data path's garbage
// (a cipher object and a buffer per packet) dies young, so a small nursery costs it nothing. bench/resources.js,
// anonymous memory per additional tunnel (100 -> 1000): 7.6-8.2 KiB before, 5.2-6.2 KiB with this; throughput
// unchanged (bench/throughput.js: 1136 Mbit/s against nebula's 731 in the run after).
//
// Set at run time, after start-up, rather than as `--max-semi-space-size` on the command line: any V8 flag given
// at start changes V8's flag hash, so node compiles its own internal modules without their built-in code cache,
// which cost 9 ms of the cold tunnel (95 -> 104 ms). The growth factor is read each time the young generation
// would grow, so changing it later takes effect.

import { setFlagsFromString } from 'node:v8';
import { WRITE_CODE_CACHE_ENV } from '../launch/code-cache.js';

export function capYoungGeneration(): void {
  // The build's code-cache training run must keep the flags it started with (pkg/launch/code-cache.ts).
  if (process.env[WRITE_CODE_CACHE_ENV] === '1') return;
  setFlagsFromString('--semi-space-growth-factor=1');
}
