import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from '../e2e/lab/lab.js';
import { meshImpl } from '../e2e/lab/mesh-impl.js';
import { OverlayNet, nebulaImpl } from '../e2e/lab/nebula.js';

// A mesh host and a real nebula 1.6.1 host on one flat underlay, each knowing the other from static_host_map:
// the handshake, both ciphers, and data in both directions, with either side starting the tunnel.

for (const cipher of ['aes', 'chachapoly'] as const) {
  for (const starter of ['mesh', 'nebula'] as const) {
    test(`mesh and nebula ping each other (${cipher}, ${starter} starts the tunnel)`, async (t) => {
      const lab = await Lab.create(t);
      const [h1, h2] = await lab.flat(2);
      const net = await OverlayNet.create(lab, { cipher });
      const vpnMesh = '10.99.0.1';
      const vpnNebula = '10.99.0.2';
      await net.start(h1!, {
        name: 'meshnode',
        vpnIp: vpnMesh,
        impl: meshImpl,
        config: { static_host_map: { [vpnNebula]: [`${h2!.ip}:4242`] } },
      });
      await net.start(h2!, {
        name: 'nebulanode',
        vpnIp: vpnNebula,
        impl: nebulaImpl,
        config: { static_host_map: { [vpnMesh]: [`${h1!.ip}:4242`] } },
      });
      const [first, second] = starter === 'mesh' ? [h1!, h2!] : [h2!, h1!];
      const firstTarget = starter === 'mesh' ? vpnNebula : vpnMesh;
      const secondTarget = starter === 'mesh' ? vpnMesh : vpnNebula;
      const a = await lab.ping(first, firstTarget, { count: 5, timeoutSec: 5 });
      assert.equal(a.rttMs.length, 5, `${starter} -> other: ${JSON.stringify(a)}\n${lab.logTails()}`);
      const b = await lab.ping(second, secondTarget, { count: 5, timeoutSec: 5 });
      assert.equal(b.rttMs.length, 5, `other -> ${starter}: ${JSON.stringify(b)}\n${lab.logTails()}`);
      t.diagnostic(`first ping rtt ${a.rttMs[0]} ms, warm ${a.rttMs.slice(1).join('/')} ms`);
    });
  }
}
