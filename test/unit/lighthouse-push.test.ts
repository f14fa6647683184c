import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { ManualClock } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4, type Ipv4 } from '../../pkg/ip/ipv4.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer, PUSH_ASKER_TTL_MS, PUSH_ASKERS_PER_HOST } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { seededRandom } from './helpers/seeded-random.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// The lighthouse push (mesh only): a host's changed addresses go to the mesh hosts that recently asked about it,
// each query paying for at most one push. Driven through a fake env: hosts are plain records, sends are recorded.

const ip = parseIpv4;
const B = ip('10.99.0.20');

function setup() {
  const clock = new ManualClock(1_000_000);
  const hosts = new Map<VpnIp, HostInfo>();
  const pushes: Array<{ to: string; vpnIp: string; addrs: string[] }> = [];
  const punches: Array<{ to: string; vpnIp: string }> = [];
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    remoteAllowed: () => true,
    hostFor: (vpnIp) => hosts.get(vpnIp),
    send: (to: HostInfo, m: MetaMessage) => {
      // Through the codec, as on the wire.
      const d = decodeMeta(encodeMeta(m));
      if (d.type === MetaType.HostMovedNotification)
        pushes.push({ to: formatVpnIp(to.vpnIp), vpnIp: formatVpnIp(d.vpnIp), addrs: d.addrs.map(addrKey) });
      if (d.type === MetaType.HostPunchNotification)
        punches.push({ to: formatVpnIp(to.vpnIp), vpnIp: formatVpnIp(d.vpnIp) });
    },
    counters: new Counters(),
    clock,
  });
  const connect = (vpnIp: Ipv4, remote: UdpAddr): HostInfo => {
    const h = { vpnIp, remote } as unknown as HostInfo;
    hosts.set(vpnIp, h);
    return h;
  };
  const query = (from: HostInfo, target: Ipv4): void =>
    server.handle(from, { type: MetaType.HostQuery, vpnIp: target, addrs: [], relays: [] });
  const update = (from: HostInfo, addrs: UdpAddr[] = []): void =>
    server.handle(from, { type: MetaType.HostUpdateNotification, vpnIp: from.vpnIp, addrs, relays: [] });
  /** A mesh host: it asks about itself on its lighthouse tunnel. */
  const meshHost = (vpnIp: Ipv4, remote: UdpAddr): HostInfo => {
    const h = connect(vpnIp, remote);
    query(h, vpnIp);
    return h;
  };
  return { clock, server, hosts, pushes, punches, connect, query, update, meshHost };
}

test('a mesh asker gets the new addresses once when the host it asked about comes back elsewhere; a nebula asker never', (t) => {
  const { pushes, punches, connect, query, update, meshHost } = setup();
  const b = connect(B, udpAddr('192.0.2.20', 4242));
  update(b, [udpAddr('10.0.0.20', 4242)]);
  const mesh = meshHost(ip('10.99.0.10'), udpAddr('192.0.2.10', 4242));
  const nebula = connect(ip('10.99.0.11'), udpAddr('192.0.2.11', 4242));
  query(mesh, B);
  query(nebula, B);

  update(b, [udpAddr('10.0.0.20', 4242)]);
  assert.deepEqual(pushes, [], 'nothing changed, nothing pushed');

  // b restarts on another port: a new tunnel (learned address) and its update.
  const b2 = connect(B, udpAddr('192.0.2.20', 51000));
  update(b2, [udpAddr('10.0.0.20', 51000)]);
  assert.deepEqual(pushes, [{ to: '10.99.0.10', vpnIp: '10.99.0.20', addrs: ['192.0.2.20:51000', '10.0.0.20:51000'] }]);
  // And b, behind its new NAT mapping, is told to punch toward the asker (as after the asker's query).
  assert.deepEqual(punches.at(-1), { to: '10.99.0.20', vpnIp: '10.99.0.10' });
  const punchesAfterPush = punches.length;

  // The asker was paid for once; it hears again only after asking again.
  const b3 = connect(B, udpAddr('192.0.2.20', 52000));
  update(b3, []);
  assert.equal(pushes.length, 1);
  assert.equal(punches.length, punchesAfterPush, 'no punch notification without a push');
  query(mesh, B);
  update(connect(B, udpAddr('192.0.2.20', 53000)), []);
  assert.equal(pushes.length, 2);
  t.diagnostic(`pushes: ${JSON.stringify(pushes)}`);
});

test('only the most recent askers within the TTL are pushed to', () => {
  const { clock, pushes, connect, query, update, meshHost } = setup();
  const b = connect(B, udpAddr('192.0.2.20', 4242));
  const askers = Array.from({ length: PUSH_ASKERS_PER_HOST + 8 }, (_, i) =>
    meshHost(ip(`10.99.0.${100 + i}`), udpAddr(`192.0.2.${100 + i}`, 4242)),
  );
  for (const a of askers) query(a, B);
  update(connect(B, udpAddr('192.0.2.20', 5000)), []);
  assert.equal(pushes.length, PUSH_ASKERS_PER_HOST);
  assert.deepEqual(
    new Set(pushes.map((p) => p.to)),
    new Set(askers.slice(8).map((a) => formatVpnIp(a.vpnIp))),
    'the last ones to ask',
  );

  pushes.length = 0;
  query(askers[0], B);
  clock.advance(PUSH_ASKER_TTL_MS + 1);
  update(b, []);
  assert.equal(pushes.length, 0, 'an asker older than the TTL is not pushed to');
});

test('random queries, updates and reconnections: pushes never outnumber the queries of mesh askers', () => {
  const { clock, pushes, connect, query, update, meshHost } = setup();
  const rand = seededRandom(1504);
  const targets = [B, ip('10.99.0.21'), ip('10.99.0.22')];
  const askers = Array.from({ length: 10 }, (_, i) =>
    (i < 7 ? meshHost : connect)(ip(`10.99.0.${50 + i}`), udpAddr(`192.0.2.${50 + i}`, 4242)),
  );
  for (const target of targets) connect(target, udpAddr('198.51.100.1', 4242));
  let meshQueries = 0;
  for (let i = 0; i < 5000; i++) {
    const target = targets[Math.floor(rand() * targets.length)];
    const r = rand();
    clock.advance(Math.floor(rand() * 1000));
    if (r < 0.4) {
      const asker = askers[Math.floor(rand() * askers.length)];
      query(asker, target);
      if ((asker.vpnIp as number) < ip('10.99.0.57')) meshQueries++;
    } else if (r < 0.7) update(connect(target, udpAddr('198.51.100.1', 4000 + Math.floor(rand() * 4))), []);
    else update(connect(target, udpAddr('198.51.100.1', 4242)), [udpAddr('10.0.0.1', 4000 + Math.floor(rand() * 3))]);
  }
  assert.ok(pushes.length > 100, `${pushes.length} pushes`);
  assert.ok(pushes.length <= meshQueries, `${pushes.length} pushes for ${meshQueries} queries`);
  assert.ok(
    pushes.every((p) => Number(p.to.split('.')[3]) < 57),
    'only mesh askers',
  );
});
