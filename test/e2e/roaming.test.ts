import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { loadNote } from './lab/load.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { measureRecovery } from './lab/recovery.js';
import { waitFor } from './lab/wait.js';

// Roaming, the WiFi-to-4G case: a host behind one NAT loses that uplink and comes up behind another NAT with a new
// address, and the old NAT forgets its flows. Traffic must resume within 2 s whichever side is sending.

for (const sender of ['mover', 'other'] as const) {
  test(`a mesh host that moves to another NAT is reachable again within 2 s (${sender} sending)`, async (t) => {
    const lab = await Lab.create(t);
    const lhHost = await lab.publicHost('lh');
    const r1 = await lab.natRouter('masq');
    const r2 = await lab.natRouter('masq');
    const r3 = await lab.natRouter('masq');
    const mover = await lab.hostBehind(r1, 'mover');
    const other = await lab.hostBehind(r2, 'other');
    const net = await OverlayNet.create(lab, { logLevel: 'debug' });
    await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl: meshImpl, tunDisabled: true });
    const punchy = { punch: true, respond: true };
    const nm = await net.start(mover, { name: 'mover', impl: meshImpl, punchy });
    const no = await net.start(other, { name: 'other', impl: meshImpl, punchy });
    await waitFor(async () => ((await lab.ping(mover, no.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
      timeoutMs: 15_000,
      intervalMs: 0,
      what: `initial tunnel\n${lab.logTails()}`,
    });
    const [from, target] = sender === 'mover' ? [mover, no.vpnIp] : [other, nm.vpnIp];
    const result = await measureRecovery(lab, from, target, async () => {
      await lab.moveBehind(mover, r3);
      await lab.flushConntrack(r1);
    });
    t.diagnostic(
      `recovery ${result.recoveryMs} ms (${result.repliesBefore} replies before the move, ${result.repliesAfter} after)`,
    );
    assert.ok(result.repliesBefore > 5, 'ping ran before the move');
    assert.ok(
      result.recoveryMs !== null && result.recoveryMs < 2000,
      `recovered in ${result.recoveryMs} ms (${loadNote()})\n${lab.logTails(40)}`,
    );
  });
}
