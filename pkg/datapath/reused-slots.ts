// The batches (crypto-batch.ts, seal-batch.ts, open-batch.ts) keep per-record arrays that every batch reuses,
// written by index up to the batch's own count. Emptied with `length = 0`, V8 trims such an array's backing store
// (right-trimming a 17-slot FixedArray) and the next batch's first store allocates a new one through a runtime call:
// 152 bytes per array per batch, ten arrays on a packet's way through a node, most of what a one-packet crossing
// left to the garbage collector (and the new-space pages it then faults in). Only the references are dropped here,
// so a closed tunnel's objects are not kept alive by a batch that is done with them; length and store stay.

/** Drops the references in slots [0, count) of an array reused batch after batch; its length stays. */
export function releaseSlots(slots: unknown[], count: number): void {
  for (let i = 0; i < count; i++) slots[i] = undefined;
}

/**
 * `count` slots holding `empty`, for an array reused batch after batch. Its elements kind is that of its values from
 * the start (packed; objects, or small integers for an `empty` of 0) and every slot a batch writes is in bounds, so a
 * fresh instance looks to optimized code like one that has carried traffic: an empty `[]` starts as small integers and
 * grows on its first stores, and code V8 optimized on a used instance (the start-up warm-up's) was thrown out when a
 * fresh one met it ("wrong map", "out of bounds").
 */
export function reusedSlots<T>(count: number, empty: T): T[] {
  return Array.from({ length: count }, () => empty);
}
