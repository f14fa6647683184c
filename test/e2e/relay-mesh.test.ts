import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet, nebulaImpl } from './lab/nebula.js';
import type { OverlayImpl } from './lab/nebula.js';
import { waitFor } from './lab/wait.js';
import { reaches } from './lab/reach.js';

// Relays (Nebula 1.6 relay protocol). The two ends may only talk to the relay's underlay address
// (lighthouse.remote_allow_list), so the relay is the only path, whoever implements each role.

const cases: Array<{ relay: OverlayImpl; ends: OverlayImpl }> = [
  { relay: meshImpl, ends: meshImpl },
  { relay: nebulaImpl, ends: meshImpl },
  { relay: meshImpl, ends: nebulaImpl },
];

for (const { relay, ends } of cases) {
  test(`a ${relay.name} relay carries traffic between two ${ends.name} nodes that cannot reach each other`, async (t) => {
    const lab = await Lab.create(t);
    const [hr, ha, hb] = await lab.flat(3);
    const net = await OverlayNet.create(lab);
    const onlyRelay = { lighthouse: { remote_allow_list: { [`${hr!.ip}/32`]: true } } };
    await net.start(hr!, { name: 'relay', lighthouse: true, relay: true, impl: relay, tunDisabled: true });
    const a = await net.start(ha!, { name: 'a', impl: ends, config: onlyRelay });
    const b = await net.start(hb!, { name: 'b', impl: ends, config: onlyRelay });
    await reaches(lab, ha!, b);
    await reaches(lab, hb!, a);
    const pings = await lab.ping(ha!, b.vpnIp, { count: 5, timeoutSec: 5 });
    assert.equal(pings.rttMs.length, 5, lab.logTails());
    if (ends === meshImpl) assert.match(a.log(), /Relay established/, 'a used the relay');
    t.diagnostic(`relayed rtt ${pings.rttMs.join('/')} ms`);
  });
}

test('a relayed mesh pair moves to a direct path as soon as one works', async (t) => {
  const lab = await Lab.create(t);
  const [hr, ha, hb] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  const onlyRelay = { lighthouse: { remote_allow_list: { [`${hr!.ip}/32`]: true } } };
  await net.start(hr!, { name: 'relay', lighthouse: true, relay: true, impl: meshImpl, tunDisabled: true });
  const a = await net.start(ha!, { name: 'a', impl: meshImpl, config: onlyRelay });
  const b = await net.start(hb!, { name: 'b', impl: meshImpl, config: onlyRelay });
  await reaches(lab, ha!, b);
  const direct = await lab.trafficCounter(hb!, { hook: 'input', saddr: ha!.ip, minUdpLength: 40 });
  assert.equal((await lab.ping(ha!, b.vpnIp, { count: 3, timeoutSec: 3 })).rttMs.length, 3);
  assert.equal((await direct.read()).packets, 0, 'relayed while direct is not allowed');

  // Lift the restriction on both ends (SIGHUP): the periodic direct probe finds the path and traffic leaves the relay.
  for (const n of [a, b]) {
    n.updateConfig({ lighthouse: { remote_allow_list: null } });
    await n.reload();
  }
  const started = performance.now();
  await waitFor(
    async () => {
      const before = (await direct.read()).packets;
      const ok = (await lab.ping(ha!, b.vpnIp, { count: 2, timeoutSec: 1, intervalSec: 0.1 })).ok;
      return ok && (await direct.read()).packets - before >= 2 ? true : null;
    },
    { timeoutMs: 15_000, intervalMs: 200, what: `direct path after the restriction was lifted\n${lab.logTails(30)}` },
  );
  t.diagnostic(`direct ${(performance.now() - started).toFixed(0)} ms after the reload`);
});
