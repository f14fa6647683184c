import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';

// The punch TTL is learned again after our addresses change (issue 16, section 3): a node behind one NAT moves
// behind a home router that sits behind a carrier NAT, and its punches must now reach one hop further.

test('a node that moves from behind one NAT to behind two learns punch TTL 3 in place of 2', async (t) => {
  const lab = await Lab.create(t);
  const lhHost = await lab.publicHost('lh');
  const single = await lab.natRouter('masq');
  const carrier = await lab.natRouter('masq');
  const home = await lab.natRouterBehind(carrier, 'masq');
  const a = await lab.hostBehind(single, 'a');
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const node = await net.start(a, { name: 'a', impl: meshImpl, tunDisabled: true });
  const before = await node.waitForLog(/NAT behaviour measured.*punchTtl=(\S+)/, 5000);
  assert.equal(before[1], '2', lab.logTails(30));
  const since = node.process.logOffset();
  const movedAt = performance.now();
  await lab.moveBehind(a, home);
  const after = await node.waitForLog(/NAT behaviour measured.*punchTtl=(\S+)/, 10_000, since);
  t.diagnostic(
    `punch ttl ${before[1]} -> ${after[1]}, measured again ${(performance.now() - movedAt).toFixed(0)} ms after the move`,
  );
  assert.equal(after[1], '3', lab.logTails(30));
});
