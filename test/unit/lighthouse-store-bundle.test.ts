import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The NATS client of a lighthouse tier (pkg/lighthouse/store/nats-client.ts) stays out of the daemon's bundle, in a
// chunk of its own that only a lighthouse with lighthouse.store naming NATS requires (scripts/bundle.mjs): everybody
// else's start-up parses none of it. Reads the built bundles (dist/bin, `make build`).

const BIN = new URL('../../bin/', import.meta.url);
const MAIN = fileURLToPath(new URL('mesh.bundle.cjs', BIN));
const CHUNK = fileURLToPath(new URL('lighthouse-nats.bundle.cjs', BIN));

test(
  'the NATS client is a chunk of its own, required only from the NATS store',
  { skip: !existsSync(MAIN) && 'no dist/bin bundle: run make build' },
  () => {
    const main = readFileSync(MAIN, 'utf8');
    assert.equal(
      main.match(/node_modules\/@nats-io\//g)?.length ?? 0,
      0,
      'no @nats-io module inlined in the main bundle',
    );
    assert.ok(main.includes('require("./lighthouse-nats.bundle.cjs")'), 'the store requires the chunk');
    const chunk = readFileSync(CHUNK, 'utf8');
    assert.ok(chunk.includes('node_modules/@nats-io/kv/'), 'the chunk holds the client');
    // Loaded on its own (as the store does), it gives what nats-store.ts takes from it.
    const client = createRequire(MAIN)(CHUNK) as Record<string, unknown>;
    assert.deepEqual(
      ['connect', 'jetstream', 'Kvm'].map((k) => typeof client[k]),
      ['function', 'function', 'function'],
    );
  },
);
