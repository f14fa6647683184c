import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { parseFirewallRules } from '../../pkg/firewall/firewall.js';
import type { CertVersion } from '../../pkg/hostmap/hostinfo.js';
import { resolveStaticHosts } from '../../pkg/daemon/static-hosts.js';
import type { Pki } from '../../pkg/daemon/pki.js';
import { marshalCertificateV2ForHandshake, signCertificate } from '../../pkg/cert/index.js';
import { makeHostCert, makeTestCa } from './helpers/pki.js';
import { udpPacket } from './helpers/packets.js';
import { makeHost, makeHostCertV2, makeTestCaV2, pkiOf } from './helpers/pki-v2.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';
import { advanceFor, advanceUntil, until } from './helpers/wait.js';

// Certificate versions in handshakes between in-process nodes (docs/certificates-v2.md, "Handshakes"): the
// version each side presents, the responder's answer in the initiator's version, and the re-handshake rules of
// Nebula 1.10 (version-rules.ts), ported from the mixed-version scenarios of Nebula's e2e/tunnels_test.go
// (TestCertUpgrade, TestCertDowngrade, TestCertMismatchCorrection) as behaviour tests. Simulated time (a ManualClock
// per test): handshake retries and re-handshakes run without sleeping.

const A = '10.99.0.1';
const B = '10.99.0.2';
const FAST = { handshakes: { try_interval: '20ms', retries: 5 } };

type Cas = { v1: ReturnType<typeof makeTestCa>; v2: ReturnType<typeof makeTestCaV2> };

function cas(): Cas {
  return { v1: makeTestCa('v1 ca'), v2: makeTestCaV2('v2 ca') };
}

async function pair(
  t: { after(fn: () => unknown): void },
  c: Cas,
  a: { versions: CertVersion[]; initiating?: CertVersion },
  b: { versions: CertVersion[]; initiating?: CertVersion },
) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const ha = makeHost(c, 'a', A, a.versions);
  const hb = makeHost(c, 'b', B, b.versions);
  const na = await mesh.node({ vpnIp: A, name: 'a', peers: [B], config: FAST, pki: pkiOf(ha, c, a.initiating) });
  const nb = await mesh.node({ vpnIp: B, name: 'b', peers: [A], config: FAST, pki: pkiOf(hb, c, b.initiating) });
  return { clock, mesh, a: na, b: nb, ha, hb };
}

/** The versions each side's tunnel records: [peer's certificate, ours] at a, then at b. */
function versions(a: TestNode, b: TestNode): string {
  const ab = a.tunnelTo(b);
  const ba = b.tunnelTo(a);
  return `a sees ${ab?.certVersion}/${ab?.localCertVersion}, b sees ${ba?.certVersion}/${ba?.localCertVersion}`;
}

async function settle(a: TestNode, b: TestNode, expected: string): Promise<void> {
  await until(
    a.node.clock,
    () => a.node.handshakes.pending.size === 0 && b.node.handshakes.pending.size === 0 && versions(a, b) === expected,
    {
      what: () => `${expected}, have ${versions(a, b)}\n${a.logs.join('\n')}\n${b.logs.join('\n')}`,
    },
  );
}

function rehandshakes(n: TestNode): number {
  return n.node.counters.get('handshakes', 'cert-version-rehandshake') ?? 0;
}

/** A config reload that brings `pki` (Nebula's e2e tests reload a config with other certificates). */
async function reload(n: TestNode, pki: Pki): Promise<void> {
  const staticHosts = await resolveStaticHosts(n.config.staticHostMap, pki.identity.vpnNetworks);
  n.node.applyReload({ config: n.config, pki, rules: parseFirewallRules(n.config.firewall), staticHosts });
}

test('v1 <-> v1: v1 certificates both ways, no re-handshake', async (t) => {
  const c = cas();
  const { a, b } = await pair(t, c, { versions: [1] }, { versions: [1] });
  await connect(a, b);
  await settle(a, b, 'a sees 1/1, b sees 1/1');
  assert.equal(rehandshakes(a) + rehandshakes(b), 0);
});

test('v2 <-> v2: v2 certificates both ways, fingerprints are the v2 ones, names and firewall view from the v2 certificate', async (t) => {
  const c = cas();
  const { a, b, ha, hb } = await pair(t, c, { versions: [2] }, { versions: [2] });
  await connect(a, b);
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  assert.equal(a.tunnelTo(b)!.fingerprint, hb.v2!.fingerprint);
  assert.equal(b.tunnelTo(a)!.fingerprint, ha.v2!.fingerprint);
  assert.equal(a.tunnelTo(b)!.certName, 'b');
  assert.equal(a.tunnelTo(b)!.peer.caName, 'v2 ca');
  assert.equal(rehandshakes(a) + rehandshakes(b), 0);
});

test('v1+v2 host (default initiating version 1) <-> v1-only host: v1 both ways, whoever starts', async (t) => {
  const c = cas();
  const { a, b } = await pair(t, c, { versions: [1, 2] }, { versions: [1] });
  await connect(a, b);
  await settle(a, b, 'a sees 1/1, b sees 1/1');
  const c2 = cas();
  const second = await pair(t, c2, { versions: [1] }, { versions: [1, 2] });
  await connect(second.a, second.b);
  await settle(second.a, second.b, 'a sees 1/1, b sees 1/1');
  assert.equal(rehandshakes(a) + rehandshakes(b) + rehandshakes(second.a) + rehandshakes(second.b), 0);
});

test('the responder answers in the version the initiator used when it holds it', async (t) => {
  const c = cas();
  // a starts with v2; b (both, initiating 1) answers v2, not its own default.
  const { a, b } = await pair(t, c, { versions: [1, 2], initiating: 2 }, { versions: [1, 2] });
  await connect(a, b);
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  assert.equal(rehandshakes(a) + rehandshakes(b), 0);
});

test("a responder without the initiator's version answers with its own, and nobody re-handshakes for nothing", async (t) => {
  const c = cas();
  // a starts with v2; b holds v1 only (and trusts the v2 CA): it answers v1. a cannot do better (b has no v2).
  const { clock, a, b } = await pair(t, c, { versions: [1, 2], initiating: 2 }, { versions: [1] });
  await connect(a, b);
  await settle(a, b, 'a sees 1/2, b sees 2/1');
  await advanceFor(clock, 100);
  assert.equal(rehandshakes(a) + rehandshakes(b), 0);
  assert.equal(a.node.counters.get('handshakes', 'ok'), 1);
});

test('mismatch correction (TestCertMismatchCorrection): v1+v2 host that started with v1 moves to v2 to a v2-only peer', async (t) => {
  const c = cas();
  // a (both, initiating 1) starts with v1; b (v2 only) answers v2; a holds v2 too, so it handshakes again in v2.
  const { a, b } = await pair(t, c, { versions: [1, 2] }, { versions: [2] });
  await connect(a, b);
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  assert.equal(rehandshakes(a), 1);
  assert.equal(rehandshakes(b), 0);
  assert.ok(
    a.logs.some((l) => l.includes('local certificate version lower than peer')),
    a.logs.join('\n'),
  );
});

test('cert upgrade (TestCertUpgrade): a v1-only node reloaded with a v2-only certificate re-handshakes; the peer sees v2', async (t) => {
  const c = cas();
  const { a, b, ha } = await pair(t, c, { versions: [1] }, { versions: [1, 2] });
  await connect(a, b);
  await settle(a, b, 'a sees 1/1, b sees 1/1');
  const both = makeHost(c, 'a', A, [1, 2]);
  // The same key pair as a's v1 certificate, so only the certificate changes.
  const v2 = makeHostCertV2(c.v2, {
    name: 'a',
    networks: [`${A}/24`],
    keys: { publicKey: ha.v1!.cert.details.publicKey, privateKey: ha.privateKey },
  });
  await reload(a, pkiOf({ ...both, v1: undefined, v2, privateKey: ha.privateKey }, c));
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  assert.ok(
    a.logs.some((l) => l.includes('local certificate removed')),
    a.logs.join('\n'),
  );
  await connect(b, a, 'after the upgrade');
});

test('cert downgrade (TestCertDowngrade): a v2-only node reloaded with a v1-only certificate re-handshakes; the peer sees v1', async (t) => {
  const c = cas();
  const { a, b, ha } = await pair(t, c, { versions: [1, 2] }, { versions: [1, 2] });
  await reload(a, pkiOf({ ...ha, v1: undefined }, c));
  await connect(a, b);
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  await reload(a, pkiOf({ ...ha, v2: undefined }, c));
  await settle(a, b, 'a sees 1/1, b sees 1/1');
  await connect(b, a, 'after the downgrade');
});

test('an upgrade of pki.initiating_version alone (1 -> 2 on reload) moves the tunnel to v2', async (t) => {
  const c = cas();
  const { a, b, ha } = await pair(t, c, { versions: [1, 2] }, { versions: [1, 2] });
  await connect(a, b);
  await settle(a, b, 'a sees 1/1, b sees 1/1');
  await reload(a, pkiOf(ha, c, 2));
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  assert.ok(
    a.logs.some((l) => l.includes('pki.initiating_version')),
    a.logs.join('\n'),
  );
});

test('a reload with a new certificate of the same version (other groups) re-handshakes; the peer sees the new one', async (t) => {
  const c = cas();
  const { clock, a, b, ha } = await pair(t, c, { versions: [1] }, { versions: [1] });
  await connect(a, b);
  await settle(a, b, 'a sees 1/1, b sees 1/1');
  const renewed = makeHostCert(c.v1, { name: 'a', ip: `${A}/24`, groups: ['renewed'] });
  // The same key pair: only the certificate changes, as when a certificate is renewed.
  const same = signCertificate({ ...renewed.cert.details, publicKey: ha.v1!.cert.details.publicKey }, c.v1.privateKey);
  await reload(a, pkiOf({ ...ha, v1: { ...ha.v1!, cert: same } }, c));
  await advanceUntil(clock, () => b.tunnelTo(a)?.peer.groups.has('renewed'), {
    what: () => `b sees the renewed certificate\n${a.logs.join('\n')}`,
  });
  assert.ok(
    a.logs.some((l) => l.includes('local certificate is not current')),
    a.logs.join('\n'),
  );
  assert.equal(rehandshakes(a), 1);
});

test('a v2 peer certificate whose only network is outside ours (IPv6 to an IPv4-only node) is accepted with a note, as Nebula 1.10/1.11', async (t) => {
  const c = cas();
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const ha = makeHost(c, 'a', A, [2]);
  const na = await mesh.node({ vpnIp: A, name: 'a', peers: [B], config: FAST, pki: pkiOf(ha, c) });
  // b's certificate holds an IPv6 network only; its node runs on a v1 identity of the same key, but presents
  // the v6-only v2 certificate by starting with it.
  const hb = makeHost(c, 'b', B, [1]);
  const v6 = makeHostCertV2(c.v2, {
    name: 'b6',
    networks: ['fd00::2/64'],
    keys: { publicKey: hb.v1!.cert.details.publicKey, privateKey: hb.privateKey },
  });
  const pkiB = pkiOf(hb, c);
  const forged = {
    ...pkiB.identity,
    credentials: {
      ...pkiB.identity.credentials,
      2: { version: 2 as const, bytes: marshalCertificateV2ForHandshake(v6.v2), signature: v6.v2.signature },
    },
    initiatingVersion: 2 as const,
  };
  const nb = await mesh.node({ vpnIp: B, name: 'b', peers: [A], config: FAST, pki: { ...pkiB, identity: forged } });
  nb.tun.inject(udpPacket({ src: B, dst: A, payload: 'x' }));
  await advanceUntil(clock, () => na.logs.some((l) => l.includes('no vpnNetworks in common')), {
    what: () => na.logs.join('\n'),
  });
  await advanceUntil(clock, () => na.node.hostmap.get('fd00::2') !== undefined, { what: () => na.logs.join('\n') });
  assert.equal(na.node.counters.get('handshakes', 'no-networks-in-common') > 0, true);
  // Its packet's IPv4 source is no address of its certificate: the firewall drops it.
  assert.equal(na.tun.written.length, 0);
});

test('a reload re-checks v2 peer certificates as v2: kept under a pool with their CA, closed under one without', async (t) => {
  const c = cas();
  const { a, b, ha } = await pair(t, c, { versions: [2] }, { versions: [2] });
  await connect(a, b);
  await settle(a, b, 'a sees 2/2, b sees 2/2');
  await reload(a, pkiOf(ha, c));
  assert.ok(a.tunnelTo(b), 'the v2 tunnel survives a reload that keeps its CA');
  assert.equal(a.node.counters.get('tunnels-closed', 'invalid-cert') ?? 0, 0);
  const withoutV2Ca = pkiOf(ha, c);
  withoutV2Ca.caPool.casV2.clear();
  await reload(a, withoutV2Ca);
  assert.equal(a.tunnelTo(b), undefined);
  assert.equal(a.node.counters.get('tunnels-closed', 'invalid-cert'), 1);
});
