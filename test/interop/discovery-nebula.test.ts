import { test } from 'node:test';

import { Lab } from '../e2e/lab/lab.js';
import { meshImpl } from '../e2e/lab/mesh-impl.js';
import { OverlayNet, nebulaImpl } from '../e2e/lab/nebula.js';
import { reaches } from '../e2e/lab/reach.js';

// Discovery across implementations: a mesh node finds a nebula node through a nebula lighthouse, and nebula nodes
// find each other (and a mesh node) through a mesh lighthouse.

test('a mesh node and a nebula node find each other through a nebula lighthouse', async (t) => {
  const lab = await Lab.create(t);
  const [hl, h1, h2] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  await net.start(hl!, { name: 'lh', lighthouse: true, impl: nebulaImpl, tunDisabled: true });
  const m = await net.start(h1!, { name: 'meshnode', impl: meshImpl });
  const n = await net.start(h2!, { name: 'nebulanode', impl: nebulaImpl });
  await reaches(lab, h1!, n);
  await reaches(lab, h2!, m);
});

test('nebula nodes find each other and a mesh node through a mesh lighthouse', async (t) => {
  const lab = await Lab.create(t);
  const [hl, h1, h2, h3] = await lab.flat(4);
  const net = await OverlayNet.create(lab);
  await net.start(hl!, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const n1 = await net.start(h1!, { name: 'nebula1', impl: nebulaImpl });
  const n2 = await net.start(h2!, { name: 'nebula2', impl: nebulaImpl });
  const m = await net.start(h3!, { name: 'meshnode', impl: meshImpl });
  await reaches(lab, h1!, n2);
  await reaches(lab, h2!, n1);
  await reaches(lab, h1!, m);
  await reaches(lab, h3!, n2);
});
