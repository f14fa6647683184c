import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { TestMesh, underlayOf } from './helpers/mesh.js';
import { advanceUntil } from './helpers/wait.js';

// A node measures its NAT against a mesh lighthouse's second port (daemon/nat-tests.ts over
// daemon/nat-tests-wiring.ts): whoami in the tunnel, an echo from the second port, and a bare probe from our listen
// socket that the second port reports back. On a MemoryNetwork there is no NAT: the probe is seen where the main port
// sees us, and the echo gets through.

const L = '10.99.0.10';
const A = '10.99.0.1';
const SECOND_PORT = 4243;

test('a node measures its NAT with a lighthouse second port: probes leave from its listen socket and are seen there', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const lhAddr = underlayOf(L);
  const second = mesh.net.bind(lhAddr.address, SECOND_PORT);
  const lh = await mesh.node({
    vpnIp: L,
    name: 'lighthouse',
    tun: null,
    config: { lighthouse: { am_lighthouse: true } },
    setup: { secondPort: true, openSecondPort: async () => second },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [L], config: { lighthouse: { hosts: [L] } } });
  const result = await advanceUntil(clock, () => a.node.natTests?.discovery.last, {
    timeoutMs: 10_000,
    what: () => `a's NAT measurement\n${a.logs.join('\n')}\n${lh.logs.join('\n')}`,
  });
  assert.deepEqual(result.seenMain, underlayOf(A));
  assert.deepEqual(result.seenSecond, underlayOf(A), "a's bare probe reached the second port from a's listen socket");
  assert.equal(result.mapping, 'endpoint-independent');
  assert.equal(result.filtering, 'address-dependent', 'the echo from the second port got through');
  assert.ok(
    a.memUdp!.sent.some((s) => s.to.port === SECOND_PORT && s.to.address === lhAddr.address),
    'sent from the listen socket',
  );
});
