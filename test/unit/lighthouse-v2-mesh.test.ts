import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { decodeMeta, MetaType } from '../../pkg/lighthouse/meta.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { makeHost, makeTestCaV2, pkiOf } from './helpers/pki-v2.js';
import { makeTestCa } from './helpers/pki.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// In-process nodes with real handshakes (docs/wire-format.md, "v2 layout"): a mesh lighthouse holding v1 and v2
// certificates, a client with only a v2 certificate and one with only a v1 certificate. Each client's update and
// self-query reach the lighthouse in its tunnel's layout, and the answers and Acks come back in the same layout.
// Time is simulated (one ManualClock): the updates every 1-2 s and the liveness checks run without sleeping.

const LH = '10.99.0.1';
const V2 = '10.99.0.2';
const V1 = '10.99.0.3';

/** What a node's lighthouse-message handler receives, decoded: "from type vN". */
function record(n: TestNode): string[] {
  const seen: string[] = [];
  const node = n.node as unknown as {
    onLighthouseMessage(host: HostInfo, payload: Uint8Array, from: UdpAddr | null): void;
  };
  const original = node.onLighthouseMessage.bind(node);
  node.onLighthouseMessage = (host, payload, from) => {
    const m = decodeMeta(payload);
    // As Nebula writes them: an update or an Ack without field 1 is v2, even with nothing else in it.
    const blank =
      m.vpnIp === 0 && (m.type === MetaType.HostUpdateNotification || m.type === MetaType.HostUpdateNotificationAck);
    const version = m.version ?? (blank ? 2 : 1);
    seen.push(
      `${host.vpnIp === parseIpv4(LH) ? 'lh' : host.vpnIp === parseIpv4(V2) ? 'v2' : 'v1'} ${MetaType[m.type]} v${version}`,
    );
    original(host, payload, from);
  };
  return seen;
}

/** Test packets (liveness checks) a node sends toward the lighthouse. */
function testsToLighthouse(n: TestNode): () => number {
  let count = 0;
  const node = n.node as unknown as { answerableSent(host: HostInfo, test: boolean): void };
  const original = node.answerableSent.bind(node);
  node.answerableSent = (host, isTest) => {
    if (isTest && host.vpnIp === parseIpv4(LH)) count++;
    original(host, isTest);
  };
  return () => count;
}

async function lab(t: { after(fn: () => unknown): void }, lighthouseInterval = 60) {
  const c = { v1: makeTestCa('v1 ca'), v2: makeTestCaV2('v2 ca') };
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const fast = {
    handshakes: { try_interval: '20ms', retries: 10 },
    timers: { connection_alive_interval: 1, pending_deletion_interval: 5 },
  };
  const lh = await mesh.node({
    vpnIp: LH,
    name: 'lh',
    tun: null,
    clock,
    config: { ...fast, lighthouse: { am_lighthouse: true } },
    pki: pkiOf(makeHost(c, 'lh', LH, [1, 2]), c),
  });
  const atLh = record(lh);
  const client = async (ip: string, version: 1 | 2) => {
    const config = { ...fast, lighthouse: { hosts: [LH], interval: lighthouseInterval } };
    const n = await mesh.node({
      vpnIp: ip,
      name: `v${version}`,
      peers: [LH],
      clock,
      config,
      pki: pkiOf(makeHost(c, `v${version}`, ip, [version]), c),
    });
    return n;
  };
  return { clock, mesh, lh, atLh, client };
}

test('a v2 client is answered and acknowledged in v2, a v1 client in v1, by the same mesh lighthouse', async (t) => {
  const { clock, atLh, client } = await lab(t, 1);
  const v2 = await client(V2, 2);
  const atV2 = record(v2);
  const v1 = await client(V1, 1);
  const atV1 = record(v1);
  // Each asks the lighthouse about itself once its tunnel is up (recorded from here on), and updates every second.
  await advanceUntil(clock, () => v2.tunnelTo(LH) && v1.tunnelTo(LH));
  v2.node.lighthouseClient!.askAboutSelf();
  v1.node.lighthouseClient!.askAboutSelf();
  const done = (seen: string[]): boolean =>
    seen.some((s) => s.includes('HostQueryReply')) && seen.some((s) => s.includes('Ack'));
  await advanceUntil(clock, () => done(atV2) && done(atV1), {
    what: () => `v2 got ${atV2.join(', ')}; v1 got ${atV1.join(', ')}; lh got ${atLh.join(', ')}`,
  });
  assert.ok(atLh.includes('v2 HostUpdateNotification v2') && atLh.includes('v2 HostQuery v2'), atLh.join(', '));
  assert.ok(atLh.includes('v1 HostUpdateNotification v1') && atLh.includes('v1 HostQuery v1'), atLh.join(', '));
  assert.deepEqual([...new Set(atV2)].sort(), ['lh HostQueryReply v2', 'lh HostUpdateNotificationAck v2']);
  assert.deepEqual([...new Set(atV1)].sort(), ['lh HostQueryReply v1', 'lh HostUpdateNotificationAck v1']);
});

test('the Ack spares the client a liveness test packet after each update', async (t) => {
  const { clock, client } = await lab(t, 2);
  const v1 = await client(V1, 1);
  const tests = testsToLighthouse(v1);
  const updates = (): number => v1.node.counters.get('lighthouse', 'update-sent') ?? 0;
  const acks = (): number => v1.node.counters.get('lighthouse', 'update-ack') ?? 0;
  // Updates every 2 s, a liveness check 1 s after a send: without an answer, a test packet after each update.
  await advanceUntil(clock, () => updates() >= 3, { what: () => `updates ${updates()}`, timeoutMs: 6000 });
  await advanceFor(clock, 1200);
  assert.equal(tests(), 0, `test packets to the lighthouse after ${updates()} updates (${acks()} acks)`);
  assert.ok(acks() >= 2, `${acks()} acks for ${updates()} updates`);
});
