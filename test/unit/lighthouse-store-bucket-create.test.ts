import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createBucket } from '../../pkg/lighthouse/store/bucket-create.js';

// Creating the tier's bucket while another lighthouse creates it (pkg/lighthouse/store/bucket-create.ts): JetStream's
// refusal of the second of two simultaneous adds is no outage. Against nats-server the race is rare
// (lighthouse-store-nats 'NATS killed...' failed on its spurious warning in 1 of 24 runs under load), so it is driven
// here by a create that fails the way the server does.

/** A create refused with each of `refusals` in turn (a number: a JetStream API error code; 'timeout': a request
 * that timed out, no code), then succeeding. */
function creator(refusals: (number | 'timeout')[]) {
  let calls = 0;
  const create = async (): Promise<string> => {
    const refusal = refusals[calls++];
    if (refusal === undefined) return 'bucket';
    if (refusal === 'timeout') throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
    throw Object.assign(new Error(`refused (${refusal})`), { name: 'JetStreamApiError', code: refusal });
  };
  return { create, calls: () => calls };
}

test('a create refused because the stream was created meanwhile is asked once more, and opens the bucket', async () => {
  for (const code of [10065, 10058]) {
    const c = creator([code]);
    assert.equal(await createBucket(c.create), 'bucket', String(code));
    assert.equal(c.calls(), 2, String(code));
  }
});

test('any other refusal, or the same one twice, is the caller to handle: never more than two asks', async () => {
  for (const refusal of [10052, 'timeout'] as const) {
    const c = creator([refusal]);
    await assert.rejects(createBucket(c.create), refusal === 'timeout' ? /timeout/ : /refused \(10052\)/);
    assert.equal(c.calls(), 1, String(refusal));
  }
  const twice = creator([10065, 10065]);
  await assert.rejects(createBucket(twice.create), /refused \(10065\)/);
  assert.equal(twice.calls(), 2);
});
