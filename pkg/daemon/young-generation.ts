// Keeps V8's young generation at its initial size (1 MB semi-spaces) for the daemon's lifetime, except a lighthouse's,
// which grows with its heap.
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
// A lighthouse's grows, to semi-spaces of a twelfth of its heap, never below 8 MB (young-generation-ceiling.ts: 8 MB
// at 10k nodes, V8's own 16 MB from ~100 MB of heap, ~16k nodes): its heap holds every host it serves, each scavenge
// pays a cost that grows with the old generation, not with the garbage, and a burst of handshakes (its hosts joining)
// is young objects that survive, copied once per scavenge until promoted. bench/lh-load.ts with --trace-gc, the same
// build given `--max-semi-space-size` (bench/RESULTS.md, session 13; one run per node count, load 2-8 in the 40k
// one): scavenge time in the join burst per handshake, scavenges steady, lighthouse RSS, by semi-space size:
//   10k nodes   1 MB: 126 us, 1.33/s of 2.2 ms, 122 MiB   8 MB: 72 us, 0.33/s of 3.4 ms, 134 MiB
//              16 MB:  74 us, 0.17/s of 7.4 ms, 150 MiB
//   40k nodes   1 MB: 331 us, 6.5/s of 5.6 ms, 248 MiB    8 MB: 183 us, 0.9/s of 11.0 ms, 269 MiB
//              16 MB: 146 us, 0.5/s of 11.4 ms, 276 MiB
// At 10k 16 MB buys nothing over 8 for 16 MiB more (above Nebula's ~125); at 40k it still saves 37 us a handshake
// and 4.6 ms of scavenges a second. Those rows are fixed semi-spaces from the command line, not this run-time ceiling;
// the ceiling itself, lh-load at 10k nodes, the shipped build against MESH_YOUNG_CAP=0 (V8's growth alone): RSS
// 132-135 vs 155-165 MiB over session 13's runs (Nebula 133-136); one run with --trace-gc-verbose, same build, load
// ~1: young generation at most 16 vs 32 MiB, RSS 126 vs 153 MiB, CPU 759 vs 745 us a handshake, steady 6.7 vs 5.4 %
// (one run each: within what runs vary). Alternating three times each in one run at 10k, the ceiling against V8's
// growth alone: steady CPU 6.70 vs 6.63 %, but 784 vs 671 us a handshake in the join, since a ceiling that followed
// the heap alone held the semi-spaces at 1-4 MB while hosts arrived and the heap was still small (the 1 MB row
// above); hence the floor of 8 MB: the same A/B with it (session 14), 742 us a handshake against 779 uncapped and 797
// without the floor, steady CPU 6.37 / 6.53 / 6.47 %, RSS 134 / 155 / 133 MiB (bench/RESULTS.md, sessions 13 and
// 14). MESH_YOUNG_CAP=1 caps a lighthouse's at 1 MB too, MESH_YOUNG_CAP=0 leaves it to V8 alone (A/Bs in one run).

import { setFlagsFromString } from 'node:v8';
import { WRITE_CODE_CACHE_ENV } from '../launch/code-cache.js';
import { ceilYoungGeneration, type ReceivedDatagrams } from './young-generation-ceiling.js';

/** `udp`: where a lighthouse's datagrams arrive, whose turns the ceiling is checked in (young-generation-ceiling.ts). */
export function capYoungGeneration(node: { amLighthouse: boolean; udp: ReceivedDatagrams }): void {
  // The build's code-cache training run must keep the flags it started with (pkg/launch/code-cache.ts).
  if (process.env[WRITE_CODE_CACHE_ENV] === '1') return;
  const lighthouseRule = process.env.MESH_YOUNG_CAP;
  if (node.amLighthouse && lighthouseRule === '0') return;
  if (node.amLighthouse && lighthouseRule !== '1') {
    ceilYoungGeneration(node.udp);
    return;
  }
  setFlagsFromString('--semi-space-growth-factor=1');
}
