// What a lighthouse makes of a tier bucket that already exists with other settings than it would create it with
// (docs/lighthouse-tier.md, "What is in the bucket"). JetStream hands back an existing bucket as it is, so another
// lighthouse's `lighthouse.store.ttl`, or a bucket an operator created beforehand, would otherwise go unnoticed.
// A lighthouse never changes a bucket it did not create (the bucket is the tier's, possibly set up on purpose, e.g.
// with replicas), and none of these differences stops the tier from working, so it warns and uses the bucket.

/** The settings of a bucket that matter to the tier. */
export interface BucketSettings {
  /** JetStream max_age in ms; 0: values never age out. */
  readonly ttlMs: number;
  /** Values kept per key. */
  readonly history: number;
  /** The largest value the bucket takes, in bytes; -1: no bound. */
  readonly maxValueSize: number;
}

/** How `found` differs from `wanted` in ways that matter, one sentence each naming the config key to look at. */
export function bucketDifferences(bucket: string, wanted: BucketSettings, found: BucketSettings): string[] {
  const out: string[] = [];
  if (found.ttlMs !== wanted.ttlMs)
    out.push(
      found.ttlMs === 0
        ? `bucket "${bucket}" never ages values out (lighthouse.store.ttl is ${wanted.ttlMs} ms): the records of a ` +
            `lighthouse that died stay in it, though no reader serves them past the TTL`
        : `bucket "${bucket}" ages values out after ${found.ttlMs} ms, lighthouse.store.ttl is ${wanted.ttlMs} ms: ` +
            `give every lighthouse of the tier the same lighthouse.store.ttl`,
    );
  if (found.history !== wanted.history)
    out.push(`bucket "${bucket}" keeps ${found.history} values per host (the tier needs 1): more storage, no harm`);
  if (found.maxValueSize >= 0 && found.maxValueSize < wanted.maxValueSize)
    out.push(
      `bucket "${bucket}" takes values of at most ${found.maxValueSize} bytes (a record may take ` +
        `${wanted.maxValueSize}): the records of hosts with many addresses will not be written`,
    );
  return out;
}
