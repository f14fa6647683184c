import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';

import { Lab } from '../e2e/lab/lab.js';
import type { Host } from '../e2e/lab/lab.js';
import { OverlayNet } from '../e2e/lab/nebula.js';
import type { Cipher, OverlayNode } from '../e2e/lab/nebula.js';
import type { PingResult } from '../e2e/lab/ping.js';
import { waitFor } from '../e2e/lab/wait.js';

// Real nebula 1.6.1 nodes in the namespace lab: the lab is fit to carry an overlay, and these timings are the
// yardstick for mesh.

const CIPHERS: Cipher[] = ['aes', 'chachapoly'];

/** Pings until the first reply (each try waits up to 2 s) and returns it with the time it took. */
async function firstReply(lab: Lab, from: Host, to: OverlayNode): Promise<PingResult> {
  return waitFor(
    async () => {
      const result = await lab.ping(from, to.vpnIp, { count: 1, timeoutSec: 2 });
      return result.ok ? result : null;
    },
    { timeoutMs: 30_000, intervalMs: 0, what: `first overlay ping ${from.name} -> ${to.name} (${to.vpnIp})` },
  );
}

for (const cipher of CIPHERS) {
  test(`nebula nodes behind two masquerading routers reach each other through the lighthouse relay (${cipher})`, async (t) => {
    const lab = await Lab.create(t);
    const lhHost = await lab.publicHost('lh');
    const r1 = await lab.natRouter('masq');
    const r2 = await lab.natRouter('masq');
    const a = await lab.hostBehind(r1, 'a');
    const b = await lab.hostBehind(r2, 'b');
    // Nebula packets carry >= 32 bytes of UDP payload, so 1-byte hole punches are not counted. Counting where the far
    // router forwards into its LAN shows what got through its NAT, not just what was tried.
    const direct = [
      await lab.trafficCounter(r2, { saddr: r1.wanIp, minUdpLength: 40 }),
      await lab.trafficCounter(r1, { saddr: r2.wanIp, minUdpLength: 40 }),
    ];
    const viaLighthouse = await lab.trafficCounter(await lab.internet(), {
      saddr: r1.wanIp,
      daddr: lhHost.ip,
      minUdpLength: 40,
    });

    const net = await OverlayNet.create(lab, { cipher });
    const started = performance.now();
    const lh = await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true });
    const [na, nb] = await Promise.all([net.start(a, { name: 'a' }), net.start(b, { name: 'b' })]);
    const up = performance.now();
    const first = await firstReply(lab, a, nb);
    const replied = performance.now();

    const relayedBefore = (await viaLighthouse.read()).packets;
    const ab = await lab.ping(a, nb.vpnIp, { count: 5, timeoutSec: 5 });
    const ba = await lab.ping(b, na.vpnIp, { count: 5, timeoutSec: 5 });
    assert.equal(ab.rttMs.length, 5, `a -> b: ${JSON.stringify(ab)}\n${lab.logTails()}`);
    assert.equal(ba.rttMs.length, 5, `b -> a: ${JSON.stringify(ba)}`);

    const directPackets = (await direct[0]!.read()).packets + (await direct[1]!.read()).packets;
    const relayedPackets = (await viaLighthouse.read()).packets - relayedBefore;
    t.diagnostic(
      `${cipher}: 3 nodes up ${(up - started).toFixed(0)} ms after start; first a->b reply ` +
        `${(replied - started).toFixed(0)} ms after start, ${(replied - up).toFixed(0)} ms after the nodes were up ` +
        `(cold-tunnel rtt ${first.rttMs[0]} ms); warm rtt ${ab.rttMs.slice(1).join('/')} ms; ` +
        `direct packets through the far NAT ${directPackets}, a's router -> lighthouse during 10 pings ${relayedPackets} packets`,
    );
    // As measured on this machine: masq <-> masq never goes direct with Nebula 1.6.1; the lighthouse relays.
    assert.equal(directPackets, 0, 'expected no Nebula packet to get through the far NAT directly');
    assert.ok(relayedPackets >= 10, `expected the pings to pass through the lighthouse, saw ${relayedPackets} packets`);
    assert.match(lh.log(), /Nebula interface is active/);
  });
}

test('nebula nodes on a flat network ping each other directly (aes)', async (t) => {
  const lab = await Lab.create(t);
  const [h1, h2, h3] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  const started = performance.now();
  await net.start(h1!, { name: 'lh', lighthouse: true });
  const [n2, n3] = await Promise.all([net.start(h2!, { name: 'n2' }), net.start(h3!, { name: 'n3' })]);
  const fromH2 = await lab.trafficCounter(h3!, { hook: 'input', saddr: h2!.ip, minUdpLength: 40 });

  const first = await firstReply(lab, h2!, n3);
  const replied = performance.now();
  const steady = await lab.ping(h3!, n2.vpnIp, { count: 5, timeoutSec: 5 });

  assert.equal(steady.rttMs.length, 5);
  assert.ok((await fromH2.read()).packets > 0, 'expected packets straight from h2 to h3');
  t.diagnostic(
    `flat: first n2->n3 reply ${(replied - started).toFixed(0)} ms after start (cold-tunnel rtt ${first.rttMs[0]} ms); ` +
      `warm rtt ${steady.rttMs.slice(1).join('/')} ms`,
  );
});

test('a nebula node behind a masquerading router and a public node talk directly, not through the relay (aes)', async (t) => {
  const lab = await Lab.create(t);
  const lhHost = await lab.publicHost('lh');
  const pub = await lab.publicHost('pub');
  const router = await lab.natRouter('masq');
  const a = await lab.hostBehind(router, 'a');
  const fromPub = await lab.trafficCounter(router, { saddr: pub.ip, minUdpLength: 40 });
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true });
  const [na, np] = await Promise.all([net.start(a, { name: 'a' }), net.start(pub, { name: 'pub' })]);

  const first = await firstReply(lab, a, np);
  const steady = await lab.ping(pub, na.vpnIp, { count: 5, timeoutSec: 5 });

  assert.equal(steady.rttMs.length, 5);
  const direct = (await fromPub.read()).packets;
  assert.ok(direct >= 5, `expected pub's packets to reach a through the NAT directly, saw ${direct}`);
  t.diagnostic(`public/masq: cold-tunnel rtt ${first.rttMs[0]} ms, direct packets into the NAT ${direct}`);
});
