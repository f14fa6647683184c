import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import { assertPings, assertTransfers, hop } from './lab/overlay-check.js';

// The IPv6 overlay through a relay (issue 18): a dual-stack mesh lighthouse that is also a relay, and two
// dual-stack mesh nodes that may talk only to the relay's underlay address (lighthouse.remote_allow_list), each
// listing the relay in relay.relays by an overlay address. IPv6 ping and TCP can only go through the relay.

for (const relayFamily of [6, 4] as const) {
  test(
    `two dual-stack mesh nodes that cannot reach each other ping and carry TCP over IPv6 through a mesh relay named by its IPv${relayFamily} address`,
    { timeout: 90_000 },
    async (t) => {
      const lab = await Lab.create(t);
      const [hr, ha, hb] = await lab.flat(3);
      const net = await OverlayNet.create(lab, { ipv6: true });
      const onlyRelay = { lighthouse: { remote_allow_list: { [`${hr!.ip}/32`]: true } } };
      const relay = await net.start(hr!, {
        name: 'relay',
        lighthouse: true,
        relay: true,
        impl: meshImpl,
        tunDisabled: true,
      });
      const a = await net.start(ha!, { name: 'a', impl: meshImpl, peerFamily: relayFamily, config: onlyRelay });
      const b = await net.start(hb!, { name: 'b', impl: meshImpl, peerFamily: relayFamily, config: onlyRelay });
      const named = (a.config.relay as { relays: string[] }).relays;
      assert.deepEqual(named, [relay.address(relayFamily)], 'relay.relays names the relay by the family under test');
      const direct = await lab.trafficCounter(hb!, { hook: 'input', saddr: ha!.ip, minUdpLength: 40 });
      const rtt = await assertPings(lab, a, b, 6, { count: 5, timeoutMs: 30_000 });
      await assertPings(lab, b, a, 6);
      await assertTransfers(lab, a, b, 6, { bytes: 2 * 1024 * 1024 });
      await assertTransfers(lab, b, a, 6, { bytes: 2 * 1024 * 1024 });
      assert.equal(
        (await direct.read()).packets,
        0,
        `${hop(a, b, 6)}: a datagram went directly a -> b, where only the relay may carry it`,
      );
      assert.match(a.log(), /Relay established/, `${hop(a, b, 6)}: a did not log a relay\n${lab.logTails(30)}`);
      t.diagnostic(`relayed IPv6 rtt ${rtt.join('/')} ms`);
    },
  );
}
