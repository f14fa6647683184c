import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { connect, TestMesh } from './helpers/mesh.js';
import { advanceFor } from './helpers/wait.js';

// lighthouse.remote_allow_list and remote_allow_ranges decide which underlay addresses a peer may use.

const A = '10.99.0.1';
const B = '10.99.0.2';
const C = '10.99.0.6';
const FAST = { handshakes: { try_interval: '20ms', retries: 3 } };

test('remote_allow_ranges judges peers inside a range by its own list, and others by remote_allow_list', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  // B (inside 10.99.0.0/30) may not use its address 198.51.100.2; C (outside the range) may use 198.51.100.6.
  const config = {
    ...FAST,
    lighthouse: {
      remote_allow_list: { '198.51.100.0/24': true },
      remote_allow_ranges: { '10.99.0.0/30': { '198.51.100.2/32': false, '0.0.0.0/0': true } },
    },
  };
  const a = await mesh.node({ vpnIp: A, peers: [B, C], config });
  const b = await mesh.node({ vpnIp: B, peers: [A], config: FAST });
  const c = await mesh.node({ vpnIp: C, peers: [A], config: FAST });
  await connect(c, a);
  assert.ok(a.tunnelTo(c), 'C, outside the range, is allowed by remote_allow_list');
  await assert.rejects(connect(b, a), 'B is refused by its range list');
  await advanceFor(clock, 100);
  assert.equal(a.tunnelTo(b), undefined);
  assert.ok(a.node.counters.get('drops', 'handshake-remote-denied') > 0);
});
