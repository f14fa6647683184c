import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { reaches } from './lab/reach.js';

// Discovery through a mesh lighthouse: nodes know only the lighthouse (static_host_map + lighthouse.hosts) and
// find each other through HostQuery / HostQueryReply / HostPunchNotification.

test('three mesh nodes that know only the lighthouse reach each other', async (t) => {
  const lab = await Lab.create(t);
  const [hl, h1, h2, h3] = await lab.flat(4);
  const net = await OverlayNet.create(lab);
  const lh = await net.start(hl!, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const nodes = await Promise.all([
    net.start(h1!, { name: 'n1', impl: meshImpl }),
    net.start(h2!, { name: 'n2', impl: meshImpl }),
    net.start(h3!, { name: 'n3', impl: meshImpl }),
  ]);
  const hosts = [h1!, h2!, h3!];
  const times: string[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      if (i === j) continue;
      times.push(`${i + 1}->${j + 1} ${(await reaches(lab, hosts[i], nodes[j])).toFixed(0)}ms`);
    }
  }
  // The lighthouse has no TUN (the README's quickstart) and still answers ping on its overlay IP, as Nebula does.
  times.push(`1->lh ${(await reaches(lab, h1!, lh)).toFixed(0)}ms`);
  t.diagnostic(`first replies: ${times.join(', ')}`);
  // No static entry for the peers: the path came from the lighthouse.
  assert.doesNotMatch(
    JSON.stringify(nodes[0].config.static_host_map),
    new RegExp(nodes[1].vpnIp.replace(/\./g, '\\.')),
  );
});

test('a node started after the others is found, and a lighthouse restart is survived', async (t) => {
  const lab = await Lab.create(t);
  const [hl, h1, h2, h3] = await lab.flat(4);
  const net = await OverlayNet.create(lab);
  const lh = await net.start(hl!, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const n1 = await net.start(h1!, { name: 'n1', impl: meshImpl, lighthouseInterval: 1 });
  const n2 = await net.start(h2!, { name: 'n2', impl: meshImpl, lighthouseInterval: 1 });
  await reaches(lab, h1!, n2);
  const late = await net.start(h3!, { name: 'late', impl: meshImpl, lighthouseInterval: 1 });
  await reaches(lab, h1!, late);
  await reaches(lab, h3!, n2);

  await lh.restart();
  // The nodes report again (lighthouse.interval: 1) and a brand-new pair finds itself through the new process.
  await reaches(lab, h2!, late, 20_000);
  assert.ok(n1.process.running && n2.process.running && late.process.running);
});

test('a mesh node behind a masquerading NAT is reached from a public node through a mesh lighthouse', async (t) => {
  const lab = await Lab.create(t);
  const lhHost = await lab.publicHost('lh');
  const pub = await lab.publicHost('pub');
  const router = await lab.natRouter('masq');
  const natted = await lab.hostBehind(router, 'nat');
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const np = await net.start(pub, { name: 'pub', impl: meshImpl, punchy: { punch: true } });
  const nn = await net.start(natted, { name: 'nat', impl: meshImpl, punchy: { punch: true } });
  // The public node starts: the NATed node is reachable only because the lighthouse told it to punch back.
  await reaches(lab, pub, nn);
  await reaches(lab, natted, np);
});
