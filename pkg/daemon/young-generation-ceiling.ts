// A ceiling on V8's young generation that scales with the heap, for a lighthouse (young-generation.ts says why a
// lighthouse's may grow at all, and why this size).
//
// V8 takes its semi-space limit from the command line only (`--max-semi-space-size` set at run time is ignored: the
// heap was configured at start), and a flag on the command line costs the start-up its code caches
// (young-generation.ts). What it does read at run time is the growth factor, each time it would grow the young
// generation: 2 (its default) lets it double, 1 keeps it. So the factor is set from the young generation's size
// against the ceiling the heap now calls for, checked at two moments:
// - at the end of a receive batch once CHECK_EVERY_DATAGRAMS datagrams have arrived since the last check,
//   synchronously, inside the receive turn (UdpConn.onBatchEnd: one call a batch, not one a datagram). A perf_hooks
//   'gc' entry reaches JavaScript only after the turn (node queues it with setImmediate), and a lighthouse handles up
//   to 4 receive batches of 64 datagrams in one turn (pkg/native/poll.c), each stage 1 a handshake that allocates
//   ~45 KB and leaves ~11 KB surviving a scavenge (lh-load at 10k nodes, --trace-gc-verbose: 450 MB allocated and
//   100-115 MB surviving over the join): ~2.8 MB surviving in the largest turn, enough for V8 to grow twice before an
//   observer runs. Measured: a burst of ~2.6 MB surviving a turn (young-generation-ceiling.test.ts) grew past the
//   ceiling with the observer alone in 3 of 3 runs, to V8's 32 MiB against 8. Between two checks fewer than 16 + 64
//   datagrams arrive (a check is due after 16, at the end of a batch of at most 64): ~3.5 MB allocated, under a
//   4 MB semi-space (half the floor), so from 4 MB on at most one scavenge and one growth, which from below the
//   ceiling ends at most at it (smaller ones may grow more than once, but not past the floor). That holds for the
//   default batch (listen.batch 64, Nebula's too); a lighthouse configured with far larger batches may let V8 grow
//   once past the ceiling in a burst (RSS, not correctness). A check is two V8 statistics calls (~1.7 us): ~0.03 us
//   a datagram in full batches.
//   Only while the young generation may grow: once held (factor 1) V8 cannot grow it, and what may let it grow again
//   (the heap, and so the ceiling, rising; V8 shrinking it) happens in collections, after which the observer below
//   checks. So a lighthouse at its ceiling (10k nodes, steady) makes no check between scavenges; the checks every
//   16 datagrams were 0.8% of its CPU there (perf, bench/RESULTS.md session 14).
// - after each scavenge (a perf_hooks 'gc' observer, ~50 us a scavenge), for growth while few datagrams arrive.
// V8 may also shrink the young generation (when little is allocated); the next scavenge lets it grow back. A ceiling
// that falls (the heap shrank after a full collection) holds the young generation where it is: V8 shrinks it only
// when little is allocated.

import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';

const MiB = 1 << 20;
/** V8's own initial and largest semi-spaces on a 64-bit build with 2 GB or more of memory (Node 20). */
export const MIN_SEMI_SPACE = 1 * MiB;
export const MAX_SEMI_SPACE = 16 * MiB;
/**
 * The lowest ceiling, whatever the heap: a join fills the heap only as hosts arrive, and a ceiling that followed the
 * heap alone held the semi-spaces at 1-4 MB through most of it, where scavenges cost ~75% more a handshake
 * (young-generation.ts gives the figures).
 */
export const CEILING_FLOOR = 8 * MiB;
/** How many received datagrams at least between two synchronous checks (see above: at most one growth between). */
export const CHECK_EVERY_DATAGRAMS = 16;

/**
 * The semi-space size for a heap with `heapUsedBytes` in use: a twelfth of it, rounded up to a power of two, from
 * CEILING_FLOOR (8 MB) to 16 MB. A lighthouse's heap holds its hosts (~60 MB at 10k nodes: 8 MB; ~160 MB at 40k:
 * 16 MB).
 */
export function semiSpaceCeiling(heapUsedBytes: number): number {
  let size = CEILING_FLOOR;
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

/** Where a lighthouse's datagrams arrive: its UDP socket (pkg/udp/udp-conn.ts), whose listeners run in the turn. */
export interface ReceivedDatagrams {
  /** Absent (a test's in-memory socket): checked after scavenges only. */
  onBatchEnd?(cb: (count: number) => void): void;
}

/**
 * Lets the young generation grow (as V8 decides) while its semi-spaces are below semiSpaceCeiling of the heap in use,
 * and holds it once they reach it. The factor stays as it was last set after stop().
 */
export class YoungGenerationCeiling {
  // V8's default until we set it: setting a flag to the value it has would still change V8's flag hash.
  private factor = GROWS;
  private sinceCheck = 0;
  private stopped = false;
  private readonly scavenges = new PerformanceObserver((list) => {
    if (!this.stopped && list.getEntries().some(isScavenge)) this.check();
  });

  constructor(received: ReceivedDatagrams) {
    this.check();
    this.scavenges.observe({ entryTypes: ['gc'] });
    received.onBatchEnd?.((count) => this.batchReceived(count));
  }

  /**
   * The receive path's event: a batch of `count` datagrams handled; checks at once every CHECK_EVERY_DATAGRAMS while
   * the young generation may grow (held, only a collection can change that: the observer checks then).
   */
  batchReceived(count: number): void {
    if (this.stopped || this.factor !== GROWS) return;
    this.sinceCheck += count;
    if (this.sinceCheck < CHECK_EVERY_DATAGRAMS) return;
    this.sinceCheck = 0;
    this.check();
  }

  stop(): void {
    this.stopped = true;
    this.scavenges.disconnect();
  }

  private check(): void {
    const wanted = youngGenerationBytes() >= 2 * semiSpaceCeiling(getHeapStatistics().used_heap_size) ? 1 : GROWS;
    if (wanted === this.factor) return;
    this.factor = wanted;
    setFlagsFromString(`--semi-space-growth-factor=${wanted}`);
  }
}

/** Holds a lighthouse's young generation under the ceiling from now on (the class says how). */
export function ceilYoungGeneration(received: ReceivedDatagrams): YoungGenerationCeiling {
  return new YoungGenerationCeiling(received);
}

function isScavenge(entry: PerformanceEntry): boolean {
  // A 'gc' entry's detail (Node 16+) says which collection it was.
  const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } | null };
  return detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
}
