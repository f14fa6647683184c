// Creating the tier's bucket while another lighthouse may be creating it at the same moment (docs/lighthouse-tier.md,
// Faults). nats.js's Kvm.create asks for the stream and adds it when there is none: two lighthouses starting together
// both find none, and the second add is refused ("subjects overlap with an existing stream" from nats-server 2.9, seen
// in parallel runs of the tier's tests) although the bucket it wanted is there now. That refusal is no outage (it was
// logged as one, and the store stayed down until a retry): the create is asked once more, which opens the bucket.

/** JetStream's "subjects overlap with an existing stream" and "stream name already in use": created meanwhile. */
export const STREAM_CREATED_MEANWHILE: ReadonlySet<number> = new Set([10065, 10058]);

/** `create()`, asked once more if JetStream refused it because the stream was created meanwhile. */
export async function createBucket<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'number' || !STREAM_CREATED_MEANWHILE.has(code)) throw err;
    return create();
  }
}
