// A ceiling on V8's young generation that scales with the heap, for a lighthouse (young-generation.ts says why a
// lighthouse's may grow at all, and why this size).
//
// V8 takes its semi-space limit from the command line only (`--max-semi-space-size` set at run time is ignored: the
// heap was configured at start), and a flag on the command line costs the start-up its code caches
// (young-generation.ts). What it does read at run time is the growth factor, each time it would grow the young
// generation: 2 (its default) lets it double, 1 keeps it. So after each scavenge (a perf_hooks 'gc' observer, ~50 us
// a scavenge: a lighthouse scavenges about once a second once its hosts have joined, a few hundred times while 10k-40k
// of them join) the factor is set from the young generation's size against the ceiling the heap now calls for. V8
// may also shrink the young generation (when little is allocated); the next scavenge lets it grow back.

import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';

const MiB = 1 << 20;
/** V8's own initial and largest semi-spaces on a 64-bit build (Node 20). */
export const MIN_SEMI_SPACE = 1 * MiB;
export const MAX_SEMI_SPACE = 16 * MiB;

/**
 * The semi-space size for a heap with `heapUsedBytes` in use: a twelfth of it, rounded up to a power of two, from
 * 1 to 16 MB. A lighthouse's heap holds its hosts (~60 MB at 10k nodes: 8 MB; ~160 MB at 40k: 16 MB).
 */
export function semiSpaceCeiling(heapUsedBytes: number): number {
  let size = MIN_SEMI_SPACE;
  while (size < MAX_SEMI_SPACE && size * 12 < heapUsedBytes) size *= 2;
  return size;
}

/** The young generation's two semi-spaces together, as V8 reports its new space (bytes). */
export function youngGenerationBytes(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_size;
  return 0;
}

/** V8's own growth factor (its default), under the ceiling. */
const GROWS = 2;

/**
 * Lets the young generation grow (as V8 decides) while its semi-spaces are below semiSpaceCeiling of the heap in use,
 * and holds it once they reach it. Returns a function that stops watching (the factor stays as it was last set).
 */
export function ceilYoungGeneration(): () => void {
  // V8's default until we set it: setting a flag to the value it has would still change V8's flag hash.
  let factor = GROWS;
  const check = (): void => {
    const wanted = youngGenerationBytes() >= 2 * semiSpaceCeiling(getHeapStatistics().used_heap_size) ? 1 : GROWS;
    if (wanted === factor) return;
    factor = wanted;
    setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  };
  const scavenges = new PerformanceObserver((list) => {
    if (list.getEntries().some(isScavenge)) check();
  });
  check();
  scavenges.observe({ entryTypes: ['gc'] });
  return () => scavenges.disconnect();
}

function isScavenge(entry: PerformanceEntry): boolean {
  // A 'gc' entry's detail (Node 16+) says which collection it was.
  const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } | null };
  return detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
}
