import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NATS_PASSWORD, NATS_USER, NatsServer } from '../unit/helpers/nats-server.js';
import type { Host, Lab } from './lab/lab.js';
import { Lab as LabClass } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet, type OverlayNode } from './lab/nebula.js';
import { nebulaImpl } from './lab/nebula-impl.js';
import { reaches } from './lab/reach.js';
import { sleep } from './lab/wait.js';

// A lighthouse tier on NATS JetStream (issue 21, docs/lighthouse-tier.md): mesh lighthouses sharing a bucket on a
// real nats-server (run in the lab's own namespace), nodes that each list only their own lighthouse, and the faults:
// a lighthouse killed, NATS killed and restarted, and a Nebula 1.6.1 node on one lighthouse of the tier.

/** The store's TTL in these tests: short, so that expiry is seen within the test. */
const TTL_S = 4;
const DNS_PORT = 5353;

async function tier(t: { after(fn: () => unknown): void }, lab: Lab, natsHost: Host) {
  const nats = await NatsServer.start(t, { host: natsHost.ip, wrap: ['ip', 'netns', 'exec', natsHost.ns] });
  const net = await OverlayNet.create(lab);
  const store = { nats: [nats.url], user: NATS_USER, password: NATS_PASSWORD, ttl: `${TTL_S}s` };
  const lighthouse = async (host: Host, name: string, extra: Record<string, unknown> = {}): Promise<OverlayNode> => {
    const lh = await net.start(host, {
      name,
      lighthouse: true,
      impl: meshImpl,
      tunDisabled: true,
      config: { lighthouse: { store, ...extra } },
    });
    await lh.waitForLog(/Lighthouse tier store connected/, 10_000);
    return lh;
  };
  const node = (host: Host, name: string, lighthouses: OverlayNode[], impl = meshImpl) =>
    net.start(host, { name, impl, lighthouses, lighthouseInterval: 1, punchy: { punch: true } });
  return { nats, net, lighthouse, node };
}

test('three lighthouses on NATS: nodes that list only their own lighthouse reach nodes of the others', async (t) => {
  const lab = await LabClass.create(t);
  const [hn, hl1, hl2, hl3, ha, hb, hc, hd, hnl, hn1, hn2] = await lab.flat(11);
  const { net, lighthouse, node } = await tier(t, lab, hn!);
  // For the figure: two Nebula 1.6.1 nodes through one Nebula lighthouse, in the same lab (their own CA is the same).
  const nebLh = await net.start(hnl!, { name: 'neblh', lighthouse: true, impl: nebulaImpl, tunDisabled: true });
  const lh1 = await lighthouse(hl1!, 'lh1', { serve_dns: true, dns: { host: hl1!.ip, port: DNS_PORT } });
  const lh2 = await lighthouse(hl2!, 'lh2');
  const lh3 = await lighthouse(hl3!, 'lh3');
  const a = await node(ha!, 'a', [lh1]);
  const b = await node(hb!, 'b', [lh1]);
  const c = await node(hc!, 'c', [lh2]);
  const d = await node(hd!, 'd', [lh3]);
  await node(hn1!, 'neb1', [nebLh], nebulaImpl);
  const neb2 = await node(hn2!, 'neb2', [nebLh], nebulaImpl);
  // Each node's update is in the bucket and at the other lighthouses (one update interval, plus the watch).
  await sleep(1500);
  const same = await reaches(lab, ha!, b);
  const cross12 = await reaches(lab, ha!, c);
  const cross23 = await reaches(lab, hc!, d);
  const cross31 = await reaches(lab, hd!, { name: 'b', vpnIp: b.vpnIp });
  const nebula = await reaches(lab, hn1!, neb2);
  t.diagnostic(
    `first reply: one lighthouse a->b ${same.toFixed(0)} ms; across lighthouses a->c ${cross12.toFixed(0)}, c->d ${cross23.toFixed(0)}, d->b ${cross31.toFixed(0)} ms; ` +
      `nebula 1.6.1 through one nebula lighthouse ${nebula.toFixed(0)} ms`,
  );
  assert.ok(!JSON.stringify(a.config.static_host_map).includes(c.vpnIp), 'a knows c only through the tier');
  // serve_dns answers from the same view: lh1 names d, which only lh3 serves.
  const dig = await lab.exec(
    ha!,
    'dig',
    [`@${hl1!.ip}`, '-p', String(DNS_PORT), '+time=1', '+tries=3', '+short', 'd', 'A'],
    { timeoutMs: 10_000, check: false },
  );
  assert.equal(dig.stdout.trim(), d.vpnIp, `dig d A at lh1: ${dig.stdout}${dig.stderr}`);
  assert.ok(lh1.process.running && lh2.process.running && lh3.process.running);
});

test('a lighthouse killed: hosts it shared with another stay reachable; hosts it alone served expire from the tier', async (t) => {
  const lab = await LabClass.create(t);
  const [hn, hl1, hl2, hl3, ha, hb, hc, hd] = await lab.flat(8);
  const { lighthouse, node } = await tier(t, lab, hn!);
  const lh1 = await lighthouse(hl1!, 'lh1');
  const lh2 = await lighthouse(hl2!, 'lh2');
  const lh3 = await lighthouse(hl3!, 'lh3');
  const a = await node(ha!, 'a', [lh1, lh2]); // reports to two lighthouses, as nodes listing several do
  const b = await node(hb!, 'b', [lh1]); // only to lh1
  await node(hc!, 'c', [lh3]);
  await sleep(1500);
  lh1.process.killNow();
  // c (on lh3) finds a through the tier, on a cold tunnel, after the kill.
  const afterKill = await reaches(lab, hc!, a);
  t.diagnostic(`c -> a after lh1 was killed: ${afterKill.toFixed(0)} ms`);
  // b's record was lh1's alone: once older than the TTL, no lighthouse tells anyone where b is.
  await sleep(TTL_S * 1000 + 1500);
  await node(hd!, 'd', [lh3]);
  await sleep(1000);
  const ping = await lab.ping(hd!, b.vpnIp, { count: 4, timeoutSec: 1 });
  assert.equal(ping.ok, false, 'd reached b through a stale record of a dead lighthouse');
  // The control: a is still found (lh2 refreshes its record), by a node that never talked to it.
  await reaches(lab, hd!, a);
});

test('NATS killed: each lighthouse serves its own hosts and logs it once; NATS back without its bucket: re-synced', async (t) => {
  const lab = await LabClass.create(t);
  const [hn, hl1, hl2, ha, ha2, hb, hc] = await lab.flat(7);
  const { nats, lighthouse, node } = await tier(t, lab, hn!);
  const lh1 = await lighthouse(hl1!, 'lh1');
  const lh2 = await lighthouse(hl2!, 'lh2');
  const a = await node(ha!, 'a', [lh1]);
  await node(hb!, 'b', [lh2]);
  await sleep(1500);
  await nats.stop();
  await lh1.waitForLog(/Lighthouse tier store unreachable/, 10_000);
  // Own hosts: a node started now on lh1 reaches a through lh1 alone.
  await node(ha2!, 'a2', [lh1]);
  const own = await reaches(lab, ha2!, a);
  await sleep(2000);
  for (const lh of [lh1, lh2])
    assert.equal(lh.log().match(/Lighthouse tier store unreachable/g)?.length, 1, `${lh.name} logs the outage once`);

  await nats.start({ wipe: true });
  for (const lh of [lh1, lh2]) await lh.waitForLog(/Lighthouse tier store reachable again/, 15_000);
  // c on lh2, started after the outage, finds a on lh1: lh1 wrote its hosts again into the new bucket.
  await node(hc!, 'c', [lh2]);
  await sleep(1500);
  const cross = await reaches(lab, hc!, a);
  t.diagnostic(
    `during the outage a2 -> a (same lighthouse) ${own.toFixed(0)} ms; after the re-sync c -> a (across) ${cross.toFixed(0)} ms`,
  );
});

test('a Nebula 1.6.1 node on one mesh lighthouse of the tier reaches a mesh node on another, and is reached', async (t) => {
  const lab = await LabClass.create(t);
  const [hn, hl1, hl2, hn1, hm2, hm3] = await lab.flat(6);
  const { lighthouse, node } = await tier(t, lab, hn!);
  const lh1 = await lighthouse(hl1!, 'lh1');
  const lh2 = await lighthouse(hl2!, 'lh2');
  const neb = await node(hn1!, 'neb', [lh1], nebulaImpl);
  const m2 = await node(hm2!, 'm2', [lh2]);
  await sleep(1500);
  const nebToMesh = await reaches(lab, hn1!, m2);
  const m3 = await node(hm3!, 'm3', [lh2]);
  await sleep(1500);
  const meshToNeb = await reaches(lab, hm3!, neb);
  t.diagnostic(
    `nebula (lh1) -> mesh (lh2) ${nebToMesh.toFixed(0)} ms; mesh (lh2) -> nebula (lh1) ${meshToNeb.toFixed(0)} ms`,
  );
  assert.ok(m3.process.running);
});
