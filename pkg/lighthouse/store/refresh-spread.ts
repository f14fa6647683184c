// When a lighthouse re-writes the records of the hosts it serves, and how a burst of records from the others is
// taken in, so that neither side does a whole host set in one event-loop turn (docs/lighthouse-tier.md, Capacity).
// Before: every served host was re-written each ttl/3 in one timer turn, and each other lighthouse took the burst of
// watch updates in one run of microtasks, so queries waited behind it (tier of three at 10k nodes: p99 169 ms).

/** The refresh timer fires this many times per ttl/3, each re-writing only the records due. */
export const REFRESH_TICKS_PER_PERIOD = 4;
/**
 * A record's next refresh comes up to this share of ttl/3 early, drawn per write, so hosts written together drift
 * apart.
 */
export const REFRESH_JITTER_SHARE = 0.5;
/** Watch entries taken in one turn before the event loop runs again (queries, packets). */
export const WATCH_ENTRIES_PER_TURN = 64;

/** How long the refresh timer waits between ticks. */
export function refreshTickMs(ttlMs: number): number {
  return Math.max(250, Math.floor(ttlMs / 3 / REFRESH_TICKS_PER_PERIOD));
}

/**
 * The time to record for a write made at `now`: up to REFRESH_JITTER_SHARE of ttl/3 in the past, so the record is due
 * again somewhere in the last part of its period. A record is always re-written within ttl/3 plus one tick of its
 * write, well inside the TTL.
 */
export function writtenAt(now: number, ttlMs: number, random: () => number): number {
  return now - Math.floor(random() * REFRESH_JITTER_SHARE * (ttlMs / 3));
}

/** Whether a record written (by writtenAt) at `at` is due for its refresh. */
export function refreshDue(at: number, now: number, ttlMs: number): boolean {
  return now - at >= ttlMs / 3;
}

/** Runs `each` on every item of `items`, letting the event loop run after every `perTurn` of them. */
export async function drainInTurns<T>(
  items: AsyncIterable<T>,
  each: (item: T) => void,
  perTurn = WATCH_ENTRIES_PER_TURN,
): Promise<void> {
  let n = 0;
  for await (const item of items) {
    each(item);
    if (++n % perTurn === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
