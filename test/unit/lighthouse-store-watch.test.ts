import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { KvWatchEntry } from '@nats-io/kv';
import { BucketWatch, type WatchIterator } from '../../pkg/lighthouse/store/bucket-watch.js';
import { bucketDifferences } from '../../pkg/lighthouse/store/bucket-settings.js';
import { MAX_RECORD_BYTES } from '../../pkg/lighthouse/store/record.js';
import { waitFor } from './helpers/wait.js';

// The lighthouse tier's watch on its bucket (pkg/lighthouse/store/bucket-watch.ts, docs/lighthouse-tier.md, Faults)
// with hand-driven watches in place of nats.js's: one watcher at a time, and an end noticed however it comes; and
// what a lighthouse makes of an existing bucket's settings (bucket-settings.ts).

/** A watch whose entries and end the test drives; `stopped` once stop() was called. */
class HandWatch implements WatchIterator {
  stopped = false;
  private readonly queue: (KvWatchEntry | 'end')[] = [];
  private wake: (() => void) | null = null;

  push(item: KvWatchEntry | 'end'): void {
    this.queue.push(item);
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.push('end');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<KvWatchEntry> {
    for (let i = 0; i < 1000; i++) {
      while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
      const item = this.queue.shift()!;
      if (item === 'end') return;
      yield item;
    }
  }
}

function entry(key: string): KvWatchEntry {
  return { key, operation: 'PUT' } as unknown as KvWatchEntry;
}

/** A bucket whose watch() resolves when the test says so. */
function handBucket() {
  const watches: HandWatch[] = [];
  const pending: (() => void)[] = [];
  return {
    watches,
    /** Lets the oldest pending watch() resolve. */
    settle: () => pending.shift()?.(),
    watch: () =>
      new Promise<WatchIterator>((resolve) => {
        const w = new HandWatch();
        watches.push(w);
        pending.push(() => resolve(w));
      }),
  };
}

function owner() {
  const seen: string[] = [];
  const ends: unknown[] = [];
  const state = { setUp: 0 };
  return {
    seen,
    ends,
    state,
    watching: () => void state.setUp++,
    entry: (e: KvWatchEntry) => void seen.push(e.key),
    ended: (why: unknown) => void ends.push(why),
  };
}

test('a watch that ends without an error is reported ended, once', async () => {
  const o = owner();
  const watch = new BucketWatch(o);
  const bucket = handBucket();
  watch.start(bucket);
  assert.equal(o.state.setUp, 0, 'not set up before kv.watch() resolves');
  bucket.settle();
  bucket.watches[0].push(entry('10.9.0.5'));
  await waitFor(() => o.seen.length === 1, { what: 'the entry' });
  assert.equal(o.state.setUp, 1, 'set up once kv.watch() resolved');
  bucket.watches[0].push('end');
  await waitFor(() => o.ends.length === 1, { what: 'the end reported' });
  assert.match(String(o.ends[0]), /watch ended/);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(o.ends.length, 1);
});

test('a watch that fails is reported ended with its error', async () => {
  const o = owner();
  const watch = new BucketWatch(o);
  watch.start({ watch: () => Promise.reject(new Error('stream not found')) });
  await waitFor(() => o.ends.length === 1, { what: 'the failure reported' });
  assert.match(String(o.ends[0]), /stream not found/);
  assert.equal(o.state.setUp, 0, 'a watch that never came up is never reported set up');
});

test('a re-start while the previous watch is still being set up leaves one watcher: the older is stopped and silent', async () => {
  const o = owner();
  const watch = new BucketWatch(o);
  const bucket = handBucket();
  watch.start(bucket);
  watch.start(bucket); // a re-sync before the first kv.watch() resolved
  bucket.settle(); // the first one resolves only now
  bucket.settle();
  const [older, newer] = bucket.watches;
  await waitFor(() => older.stopped, { what: 'the older watch stopped' });
  older.push(entry('10.9.0.1'));
  newer.push(entry('10.9.0.2'));
  await waitFor(() => o.seen.length === 1, { what: 'the newer watch entry' });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(o.seen, ['10.9.0.2']);
  assert.equal(newer.stopped, false);
  assert.deepEqual(o.ends, [], 'the stopped one does not count as an end');
  assert.equal(o.state.setUp, 1, 'only the newer one is reported set up');
});

test('stop() ends the watch quietly: no end reported, nothing delivered after', async () => {
  const o = owner();
  const watch = new BucketWatch(o);
  const bucket = handBucket();
  watch.start(bucket);
  bucket.settle();
  await new Promise((r) => setTimeout(r, 5));
  watch.stop();
  assert.equal(bucket.watches[0].stopped, true);
  bucket.watches[0].push(entry('10.9.0.3'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(o.seen, []);
  assert.deepEqual(o.ends, []);
});

test("an existing bucket's settings: each difference that matters is named with the config key, none when equal", () => {
  const wanted = { ttlMs: 30_000, history: 1, maxValueSize: MAX_RECORD_BYTES };
  assert.deepEqual(bucketDifferences('b', wanted, wanted), []);
  assert.deepEqual(bucketDifferences('b', wanted, { ...wanted, maxValueSize: -1 }), [], 'no bound is fine');
  assert.deepEqual(bucketDifferences('b', wanted, { ...wanted, maxValueSize: 1 << 20 }), [], 'a larger one too');
  const all = bucketDifferences('b', wanted, { ttlMs: 60_000, history: 5, maxValueSize: 1024 });
  assert.equal(all.length, 3);
  assert.match(all[0], /60000 ms, lighthouse\.store\.ttl is 30000 ms/);
  assert.match(all[1], /keeps 5 values/);
  assert.match(all[2], /at most 1024 bytes/);
  assert.match(bucketDifferences('b', wanted, { ...wanted, ttlMs: 0 })[0], /never ages values out/);
});
