// The one watch a lighthouse keeps on the tier's bucket (docs/lighthouse-tier.md, Faults). Only the newest watch
// started may deliver entries or report its end: a re-sync while the previous kv.watch() is still being set up must
// not leave two watchers running (the older one stopped as soon as it exists), and a watch that ends, with an error
// or without one (nats.js ends it without an error when its consumer cannot be re-created), is reported to the
// owner, who re-syncs; before, a watch that ended normally left the store "reachable" with nothing watching.

import type { KvWatchEntry } from '@nats-io/kv';
import { drainInTurns } from './refresh-spread.js';

/** What a watch yields: nats.js's QueuedIterator, as far as we use it. */
export interface WatchIterator extends AsyncIterable<KvWatchEntry> {
  stop(): void;
}

/** The bucket as far as watching goes (nats.js's KV). */
export interface WatchableBucket {
  watch(opts: { key: string }): Promise<WatchIterator>;
}

export interface BucketWatchOwner {
  /** The current watch is set up (its consumer created): the bucket is watched from now on. */
  watching(): void;
  /** An entry of the current watch. */
  entry(e: KvWatchEntry): void;
  /** The current watch failed or ended: nothing watches the bucket until the next start. */
  ended(why: unknown): void;
}

export class BucketWatch {
  /** Bumped by every start and stop: a watch whose generation is not the current one is stale. */
  private generation = 0;
  private current: WatchIterator | null = null;

  constructor(private readonly owner: BucketWatchOwner) {}

  /** Stops the current watch (set up or still being set up) and starts one on `kv`. */
  start(kv: WatchableBucket): void {
    this.stop();
    const generation = this.generation;
    const live = (): boolean => generation === this.generation;
    const follow = async (): Promise<void> => {
      const entries = await kv.watch({ key: '>' });
      if (!live()) return entries.stop();
      this.current = entries;
      this.owner.watching();
      // In turns: a burst of the others' refreshes must not hold queries and packets up (refresh-spread.ts).
      await drainInTurns(entries, (e) => {
        if (live()) this.owner.entry(e);
      });
      if (live()) this.endedWith(new Error('the bucket watch ended'));
    };
    follow().catch((err: unknown) => {
      if (live()) this.endedWith(err);
    });
  }

  /** Stops watching; whatever the stopped watch still yields or throws is ignored. */
  stop(): void {
    this.generation++;
    this.current?.stop();
    this.current = null;
  }

  private endedWith(why: unknown): void {
    this.generation++;
    this.current = null;
    this.owner.ended(why);
  }
}
