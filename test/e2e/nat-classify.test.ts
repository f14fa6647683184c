import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { netcheckBehind } from './lab/nat-levels.js';

// `mesh netcheck` with a single mesh lighthouse: its second port tells mapping and filtering (issue 16, section 4).
// masq = Linux masquerade (keeps the port, one mapping for every destination, conntrack lets only replies in);
// random = masquerade random (a new port per destination: a "symmetric" NAT).

test('netcheck behind a port-preserving NAT with one lighthouse: endpoint-independent mapping, port-dependent filtering, punch TTL 2', async (t) => {
  const lab = await Lab.create(t);
  const r = await netcheckBehind(lab, meshImpl, 'masq');
  for (const line of r.text.trimEnd().split('\n')) t.diagnostic(line);
  assert.equal(r.mapping, 'endpoint-independent', r.text);
  assert.equal(r.filtering, 'address-and-port-dependent', r.text);
  assert.equal(r.punchTtl, 2, r.text);
  assert.match(r.text, /mapping: +endpoint-independent/);
  assert.match(r.text, /filtering: +address-and-port-dependent/);
});

test('netcheck behind a port-rewriting NAT with one lighthouse: address-and-port-dependent (symmetric) mapping', async (t) => {
  const lab = await Lab.create(t);
  const r = await netcheckBehind(lab, meshImpl, 'random');
  for (const line of r.text.trimEnd().split('\n')) t.diagnostic(line);
  assert.equal(r.mapping, 'endpoint-dependent', r.text);
  assert.equal(r.filtering, 'address-and-port-dependent', r.text);
  assert.match(r.text, /symmetric NAT/);
});

test('netcheck behind two levels of NAT learns punch TTL 3 (the carrier NAT is two hops away)', async (t) => {
  const lab = await Lab.create(t);
  const r = await netcheckBehind(lab, meshImpl, 'masq', 2);
  for (const line of r.text.trimEnd().split('\n')) t.diagnostic(line);
  assert.equal(r.punchTtl, 3, r.text);
  assert.equal(r.mapping, 'endpoint-independent', r.text);
});
