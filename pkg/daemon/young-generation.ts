// Keeps V8's young generation at its initial size (1 MB semi-spaces) for the daemon's lifetime, except a lighthouse's.
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
//
// Not on a lighthouse: its heap holds every host it serves (~250 MB at 40k nodes), and each scavenge pays a cost
// that grows with the old generation, not with the garbage (at 40k nodes, 1 MB semi-spaces: ~6 scavenges a second
// of ~1.5 ms; 16 MB ones: one every ~2.5 s, of ~5.4 ms). Left to V8's growth, its young generation grows in the burst
// of handshakes when its hosts join, as this cap exists to prevent on other nodes. At 40k nodes, one bench/lh-load.ts
// run, the same build capped and not: steady CPU 12.8 -> 10.7 % of one core, RSS 252 -> 272 MiB (bench/RESULTS.md,
// session 12).
// MESH_YOUNG_CAP=1 caps a lighthouse's too (an A/B in one bench run).

import { setFlagsFromString } from 'node:v8';
import { WRITE_CODE_CACHE_ENV } from '../launch/code-cache.js';

export function capYoungGeneration(role: { amLighthouse: boolean }): void {
  // The build's code-cache training run must keep the flags it started with (pkg/launch/code-cache.ts).
  if (process.env[WRITE_CODE_CACHE_ENV] === '1') return;
  if (role.amLighthouse && process.env.MESH_YOUNG_CAP !== '1') return;
  setFlagsFromString('--semi-space-growth-factor=1');
}
