import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { MESH_MAIN, meshImpl } from './lab/mesh-impl.js';
import { startMiniupnpd } from './lab/miniupnpd.js';
import { OverlayNet } from './lab/nebula.js';
import { waitFor } from './lab/wait.js';

// Port mapping follows the node: a maps its port on its router's miniupnpd, moves behind another router running
// miniupnpd (a new LAN address, a new gateway), and maps again there after the address change, and that new
// mapping is the one netcheck reports.

test('after an address change the node maps its port on the new gateway', async (t) => {
  const lab = await Lab.create(t);
  const lh = await lab.publicHost('lh');
  const r1 = await lab.natRouter('random');
  const r2 = await lab.natRouter('random');
  const a = await lab.hostBehind(r1, 'a');
  const [u1, u2] = await Promise.all([startMiniupnpd(lab, r1), startMiniupnpd(lab, r2)]);

  const net = await OverlayNet.create(lab);
  await net.start(lh, { name: 'lh', lighthouse: true, relay: true, impl: meshImpl, tunDisabled: true });
  const na = await net.start(a, { name: 'a', impl: meshImpl });
  const netcheck = async (): Promise<string> =>
    (
      await lab.exec(a, process.execPath, [MESH_MAIN, 'netcheck', '-config', na.configPath], {
        check: false,
        timeoutMs: 20_000,
      })
    ).stdout;
  await waitFor(async () => (/dnat ip to/.test(await u1.rules()) ? true : null), {
    timeoutMs: 5000,
    intervalMs: 100,
    what: `a mapping on r1\n${lab.logTails(20)}`,
  });

  const moved = performance.now();
  await lab.moveBehind(a, r2);
  await waitFor(
    async () => (new RegExp(`dnat ip to ${a.ip.replace(/\./g, '\\.')}:4242`).test(await u2.rules()) ? true : null),
    {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: `a mapping on r2 after the move\n${await u2.rules()}\n${lab.logTails(30)}`,
    },
  );
  const mappedAfterMs = performance.now() - moved;
  // The lighthouse must see a at its new address too before the mapping counts: a asks it again after the move.
  const want = new RegExp(
    `port mapping: +pcp on ${r2.lanIp.replace(/\./g, '\\.')}: ${u2.publicIp.replace(/\./g, '\\.')}:\\d+.*; advertised`,
  );
  let text = '';
  for (let i = 0; i < 20 && !want.test(text); i++) text = await netcheck();
  assert.match(text, want, lab.logTails(30));
  t.diagnostic(
    `mapped on the new gateway ${mappedAfterMs.toFixed(0)} ms after the move; ${/port mapping:.*/.exec(text)?.[0]}`,
  );
});
