// The addon's AEAD against nebula 1.6.1 on the wire, both ciphers: a mesh node and a nebula node exchange pings
// of sizes from 16 bytes to a full 1300-byte overlay MTU in both directions. Anything wrong in the native nonce,
// AD or tag handling would be refused by nebula (and nebula's packets by mesh), so every reply is proof both ways.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { nebulaImpl, OverlayNet } from './lab/nebula.js';

// ICMP payloads: the smallest ping still times (16 bytes), the default, and the largest that fits the 1300-byte
// overlay MTU (20 IP + 8 ICMP bytes).
const SIZES = [16, 56, 1272];

for (const cipher of ['aes', 'chachapoly'] as const) {
  test(`mesh (native AEAD) and nebula 1.6.1 carry pings of 16-1272 bytes both ways with ${cipher}`, async (t) => {
    const lab = await Lab.create(t);
    const [h1, h2] = await lab.flat(2);
    const net = await OverlayNet.create(lab, { cipher });
    const meshIp = '10.99.0.1';
    const nebulaIp = '10.99.0.2';
    await net.start(h1!, {
      name: 'mesh',
      impl: meshImpl,
      config: { static_host_map: { [nebulaIp]: [`${h2!.ip}:4242`] } },
    });
    await net.start(h2!, {
      name: 'nebula',
      impl: nebulaImpl,
      config: { static_host_map: { [meshIp]: [`${h1!.ip}:4242`] } },
    });
    const warm = await lab.ping(h1!, nebulaIp, { count: 1, timeoutSec: 5 });
    assert.ok(warm.ok, `no tunnel: ${lab.logTails()}`);
    for (const size of SIZES) {
      const there = await lab.ping(h1!, nebulaIp, { count: 3, size, intervalSec: 0.05, timeoutSec: 3 });
      const back = await lab.ping(h2!, meshIp, { count: 3, size, intervalSec: 0.05, timeoutSec: 3 });
      assert.equal(there.rttMs.length, 3, `mesh -> nebula, ${size} bytes: ${lab.logTails()}`);
      assert.equal(back.rttMs.length, 3, `nebula -> mesh, ${size} bytes: ${lab.logTails()}`);
    }
  });
}
