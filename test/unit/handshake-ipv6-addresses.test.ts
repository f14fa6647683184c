import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { CaPool } from '../../pkg/cert/index.js';
import type { Pki } from '../../pkg/daemon/pki.js';
import { identityOf } from '../../pkg/handshake/identity.js';
import { PROMOTED_AFTERMATH_MS } from '../../pkg/handshake/manager.js';
import { inNetworks } from '../../pkg/handshake/peer-addrs.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { ICMPV6, ipv6Packet, TCP, UDP } from './firewall-fixtures.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';
import { makeHostCertV2, makeTestCaV2, type TestCaV2 } from './helpers/pki-v2.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// Dual-stack and IPv6-only v2 certificates between in-process nodes (docs/ipv6.md): the handshake keeps the
// peer's addresses inside our networks (and refuses a certificate claiming ours, or with none inside), the hostmap
// finds the tunnel by each, and IPv6 packets travel inside -> outside -> TUN.

const FAST = { handshakes: { try_interval: '20ms', retries: 5 } };
const A4 = '10.99.0.1';
const B4 = '10.99.0.2';
const A6 = 'fd00:99::1';
const B6 = 'fd00:99::2';
const UNDERLAY_B = '198.51.100.2:4242';
const UNDERLAY_A = '198.51.100.1:4242';

function pkiFor(ca: TestCaV2, name: string, networks: string[]): Pki {
  const host = makeHostCertV2(ca, { name, networks });
  const caPool = new CaPool();
  caPool.addCaV2(ca.cert);
  return { caPool, identity: identityOf({ v2: host.v2 }, host.privateKey), warnings: [] };
}

async function pair(
  t: { after(fn: () => unknown): void },
  aNets: string[],
  bNets: string[],
): Promise<{ clock: ManualClock; a: TestNode; b: TestNode }> {
  const ca = makeTestCaV2();
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const pa = pkiFor(ca, 'a', aNets);
  const pb = pkiFor(ca, 'b', bNets);
  // Static entries for every address of the peer inside our networks, so a handshake toward either finds it.
  const statics = (pki: Pki, addrs: string[], underlay: string): Record<string, string[]> =>
    Object.fromEntries(
      addrs.filter((x) => inNetworks(parseVpnIp(x), pki.identity.vpnNetworks)).map((x) => [x, [underlay]]),
    );
  const a = await mesh.node({
    vpnIp: A4,
    name: 'a',
    config: FAST,
    pki: pa,
    staticHostMap: statics(pa, [B4, B6], UNDERLAY_B),
  });
  const b = await mesh.node({
    vpnIp: B4,
    name: 'b',
    config: FAST,
    pki: pb,
    staticHostMap: statics(pb, [A4, A6], UNDERLAY_A),
  });
  return { clock, a, b };
}

function udp6(src: string, dst: string): Uint8Array {
  return ipv6Packet({ src, dst, proto: UDP, srcPort: 5000, dstPort: 6000, payload: 12 });
}

function drops(n: TestNode, reason: string): number {
  return n.node.counters.get('drops', reason) ?? 0;
}

test('dual-stack peers: an IPv6 packet starts the handshake, arrives, and one tunnel serves both addresses', async (t) => {
  const { clock, a, b } = await pair(t, [`${A4}/24`, `${A6}/64`], [`${B4}/24`, `${B6}/64`]);
  const packet = udp6(A6, B6);
  a.tun.inject(packet);
  await advanceUntil(clock, () => b.tun.written.some((p) => Buffer.from(p).equals(Buffer.from(packet))), {
    what: () => `${a.logs.join('\n')}\n${b.logs.join('\n')}`,
  });
  const tunnel = a.node.hostmap.get(B6);
  assert.ok(tunnel);
  assert.deepEqual(tunnel.vpnAddrs, [parseVpnIp(B4), B6], "the peer's certificate order: IPv4 first");
  assert.equal(tunnel.vpnIp, parseVpnIp(B4));
  assert.equal(a.node.hostmap.get(parseVpnIp(B4)), tunnel, 'found by its IPv4 address too');
  assert.equal(a.node.hostmap.size, 1);
  // IPv4 to the same peer takes the same tunnel: no second handshake.
  const started = a.node.counters.get('handshakes', 'started');
  const before = b.tun.written.length;
  a.tun.inject(udpPacket({ src: A4, dst: B4, payload: 'v4' }));
  await advanceUntil(clock, () => b.tun.written.length > before);
  assert.equal(a.node.counters.get('handshakes', 'started'), started);
  assert.equal(b.tunnelTo(A6), b.tunnelTo(A4));
});

test('an IPv6-only peer and a dual-stack one: each tunnel holds every address of the certificate, as Nebula 1.10/1.11', async (t) => {
  const { clock, a, b } = await pair(t, [`${A4}/24`, `${A6}/64`], [`${B6}/64`]);
  const packet = udp6(A6, B6);
  a.tun.inject(packet);
  await advanceUntil(clock, () => b.tun.written.length > 0, {
    what: () => `${a.logs.join('\n')}\n${b.logs.join('\n')}`,
  });
  assert.deepEqual(a.node.hostmap.get(B6)?.vpnAddrs, [B6]);
  // b has no IPv4 network, yet a's IPv4 address is a's too (Nebula keeps all; b's TUN routes nothing to it).
  const atB = b.node.hostmap.get(A6);
  assert.deepEqual(atB?.vpnAddrs, [parseVpnIp(A4), A6]);
  assert.equal(atB?.vpnIp, parseVpnIp(A4), "the certificate's first address is the primary");
  assert.equal(b.node.hostmap.get(parseVpnIp(A4)), atB);
  assert.deepEqual(atB?.peer.vpnAddrs, [parseVpnIp(A4), A6], 'the firewall sees them all');
  assert.equal(b.node.counters.get('handshakes', 'no-networks-in-common') ?? 0, 0, 'an address in common');
});

test('a certificate claiming one of our addresses is refused ("myself"); one with none inside our networks is accepted with a note', async (t) => {
  const claims = await pair(t, [`${A4}/24`, `${A6}/64`], [`${B4}/24`, `${A6}/128`]);
  claims.b.tun.inject(udpPacket({ src: B4, dst: A4, payload: 'x' }));
  await advanceUntil(claims.clock, () => drops(claims.a, 'handshake-self') > 0, {
    what: () => claims.a.logs.join('\n'),
  });
  assert.ok(claims.a.logs.some((l) => l.includes('Refusing to handshake with myself')));
  assert.equal(claims.a.node.hostmap.size + claims.a.node.hostmap.candidates.size, 0);

  // b asks for 10.99.0.1 at a's underlay address; a (fd00:99::1 only) answers, and b then finds the wrong host
  // answered and closes: a's side is what is judged here.
  const none = await pair(t, [`${A6}/64`], [`${B4}/24`, 'fd00:98::2/64']);
  none.b.tun.inject(udpPacket({ src: B4, dst: A4, payload: 'x' }));
  await advanceUntil(none.clock, () => (none.a.node.counters.get('handshakes', 'promoted') ?? 0) > 0, {
    what: () => none.a.logs.join('\n'),
  });
  assert.ok(none.a.node.counters.get('handshakes', 'no-networks-in-common') > 0);
  assert.ok(none.a.logs.some((l) => l.includes('Handshake message received, but no vpnNetworks in common.')));
  none.clock.advance(PROMOTED_AFTERMATH_MS); // the promotion's line follows it (manager.ts, promote)
  assert.ok(
    none.a.logs.some(
      (l) => l.includes('Handshake completed (responder)') && l.includes('vpnAddrs=10.99.0.2,fd00:98::2'),
    ),
  );
});

test('IPv6 packets the kernel sends on its own (multicast, link-local) and packets to ourselves are dropped, never a handshake', async (t) => {
  const { clock, a } = await pair(t, [`${A4}/24`, `${A6}/64`], [`${B4}/24`, `${B6}/64`]);
  a.tun.inject(udp6('fe80::1', 'ff02::2'));
  a.tun.inject(udp6('fe80::1', 'fe80::2'));
  a.tun.inject(udp6(A6, A6));
  a.tun.inject(udp6(A6, '::ffff:10.99.0.2'));
  a.tun.inject(udp6(A6, 'fd01::5'));
  a.tun.inject(new Uint8Array([0x60, 0, 0, 0]));
  await advanceUntil(clock, () => drops(a, 'inside-no-route') === 1);
  assert.equal(drops(a, 'inside-ipv6-multicast'), 1);
  assert.equal(drops(a, 'inside-ipv6-link-local'), 1);
  assert.equal(drops(a, 'inside-to-self'), 1);
  assert.equal(drops(a, 'inside-ipv6-mapped'), 1);
  assert.equal(drops(a, 'inside-ipv6-short'), 1);
  assert.equal(a.node.counters.get('handshakes', 'started') ?? 0, 0);
  assert.equal(a.node.handshakes.pending.size, 0);
});

test('an IPv6 unsafe route sends packets for its range to its IPv6 gateway, whose certificate holds the range', async (t) => {
  const ca = makeTestCaV2();
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const pa = pkiFor(ca, 'a', [`${A6}/64`]);
  const hb = makeHostCertV2(ca, { name: 'b', networks: [`${B6}/64`], unsafeNetworks: ['fd77:1::/48'] });
  const poolB = new CaPool();
  poolB.addCaV2(ca.cert);
  const routes = { tun: { unsafe_routes: [{ route: 'fd77:1::/48', via: B6 }] } };
  const a = await mesh.node({
    vpnIp: A4,
    name: 'a',
    config: { ...FAST, ...routes },
    pki: pa,
    staticHostMap: { [B6]: [UNDERLAY_B] },
  });
  // A rule without local_cidr reaches only b's own addresses when its certificate has unsafe networks (Nebula 1.10+).
  const anyLocal = { firewall: { inbound: [{ port: 'any', proto: 'any', host: 'any', local_cidr: 'any' }] } };
  const b = await mesh.node({
    vpnIp: B4,
    name: 'b',
    config: { ...FAST, ...anyLocal },
    pki: { caPool: poolB, identity: identityOf({ v2: hb.v2 }, hb.privateKey), warnings: [] },
  });
  const packet = udp6(A6, 'fd77:1::5');
  a.tun.inject(packet);
  await advanceUntil(clock, () => b.tun.written.some((p) => Buffer.from(p).equals(Buffer.from(packet))), {
    what: () => JSON.stringify([a.node.counters.snapshot().drops, b.node.counters.snapshot().drops]),
  });
  assert.ok(a.node.hostmap.get(B6));
  assert.equal(a.node.hostmap.get('fd77:1::5'), undefined, 'the route leads to the gateway, no tunnel for the address');
});

test('IPv6 through the inbound firewall: ICMPv6 allowed by rule arrives, TCP is refused with an IPv6 RST back through the tunnel', async (t) => {
  const ca = makeTestCaV2();
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const pa = pkiFor(ca, 'a', [`${A6}/64`]);
  const pb = pkiFor(ca, 'b', [`${B6}/64`]);
  const fw = {
    firewall: {
      inbound_action: 'reject',
      inbound: [{ port: 'any', proto: 'icmp', host: 'any' }],
      outbound: [{ port: 'any', proto: 'any', host: 'any' }],
    },
  };
  const a = await mesh.node({ vpnIp: A4, name: 'a', config: FAST, pki: pa, staticHostMap: { [B6]: [UNDERLAY_B] } });
  const b = await mesh.node({ vpnIp: B4, name: 'b', config: { ...FAST, ...fw }, pki: pb });
  const echo = ipv6Packet({ src: A6, dst: B6, proto: ICMPV6, icmpType: 128, payload: 8 });
  a.tun.inject(echo);
  await advanceUntil(clock, () => b.tun.written.some((p) => Buffer.from(p).equals(Buffer.from(echo))), {
    what: () => JSON.stringify(b.node.counters.snapshot().drops),
  });
  const syn = ipv6Packet({ src: A6, dst: B6, proto: TCP, srcPort: 40000, dstPort: 22, tcpFlags: 0x02 });
  const before = a.tun.written.length;
  a.tun.inject(syn);
  await advanceUntil(clock, () => a.tun.written.length > before, {
    what: () => JSON.stringify(b.node.counters.snapshot().drops),
  });
  const rst = a.tun.written[a.tun.written.length - 1];
  assert.equal(rst[0] >> 4, 6, 'an IPv6 packet');
  assert.equal(rst[6], TCP);
  assert.equal(
    Buffer.from(rst.subarray(8, 24)).equals(Buffer.from(syn.subarray(24, 40))),
    true,
    'from the address the SYN went to',
  );
  assert.equal(rst[40 + 13] & 0x04, 0x04, 'RST set');
  assert.equal(
    b.tun.written.some((p) => p[6] === TCP),
    false,
    'the SYN never reached b',
  );
});

test('IPv6 and IPv4 packets to a dual-stack peer at once: the first handshake to finish takes both queues, no tunnel is replaced', async (t) => {
  const { clock, a, b } = await pair(t, [`${A4}/24`, `${A6}/64`], [`${B4}/24`, `${B6}/64`]);
  a.tun.inject(udp6(A6, B6));
  a.tun.inject(udpPacket({ src: A4, dst: B4, payload: 'v4' }));
  assert.equal(a.node.handshakes.pending.size, 2, 'two addresses, not yet known to be one peer');
  await advanceUntil(clock, () => b.tun.written.length >= 2 && a.node.handshakes.pending.size === 0, {
    what: () => `${a.logs.join('\n')}\n${b.logs.join('\n')}`,
  });
  await advanceFor(clock, 200);
  assert.equal(a.node.counters.get('handshakes', 'ok'), 1);
  assert.equal(a.node.counters.get('handshakes', 'joined'), 1);
  assert.equal(a.node.counters.get('tunnels-replaced') ?? 0, 0);
  assert.equal(b.node.counters.get('tunnels-replaced') ?? 0, 0);
  assert.equal(a.node.hostmap.size, 1);
  assert.equal(b.tun.written.length, 2);
});

test('closing a dual-stack tunnel forgets what was kept under each of its addresses (relays, lighthouse answers)', async (t) => {
  const { clock, a, b } = await pair(t, [`${A4}/24`, `${A6}/64`], [`${B4}/24`, `${B6}/64`]);
  a.tun.inject(udp6(A6, B6));
  await advanceUntil(clock, () => b.tun.written.length > 0);
  const gone: string[] = [];
  // What the relay manager forgets when it hears the tunnel closed, under each address.
  const table = a.node.relays.table;
  const forgetTunnel = table.forgetTunnel.bind(table);
  table.forgetTunnel = (ip) => {
    gone.push(String(ip));
    return forgetTunnel(ip);
  };
  a.node.closeTunnel(a.node.hostmap.get(B6)!, 'test', false);
  assert.deepEqual(gone, [String(parseVpnIp(B4)), B6]);
  assert.equal(a.node.hostmap.get(B6), undefined);
  assert.equal(a.node.hostmap.get(parseVpnIp(B4)), undefined);
});
