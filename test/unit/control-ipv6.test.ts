import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { controlHandler, type ControlContext } from '../../pkg/control/handlers.js';
import { resolveHost, tunnelTo, type ControlledNode } from '../../pkg/control/node-view.js';
import type { PingReply } from '../../pkg/control/reports.js';
import { renderStatus } from '../../pkg/control/render-status.js';
import type { RttProbes } from '../../pkg/control/rtt-probes.js';
import { buildStatus } from '../../pkg/control/status.js';
import { Whoami } from '../../pkg/control/whoami.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { parseCidr, parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import { decodeMeta, encodeMeta, MetaType } from '../../pkg/lighthouse/meta.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { udpAddr } from '../../pkg/udp/addr.js';

// `mesh status` and the HOST argument of ping/close-tunnel/print-cert with IPv6 overlay addresses (docs/ipv6.md):
// addresses printed as RFC 5952 text, every address of a host listed, each tunnel once, `fd00::2` accepted.

const ip = parseIpv4;

function tunnel(vpnAddrs: VpnIp[], name: string, localIndex: number): HostInfo {
  return {
    vpnIp: vpnAddrs[0],
    vpnAddrs,
    certName: name,
    remote: udpAddr(`198.51.100.${localIndex}`, 4242),
    relayVia: null,
    createdAt: 0,
    lastRecvAt: 0,
    bytesIn: 0,
    bytesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
    cert: { details: { notAfter: 2_000_000_000 } },
    fingerprint: 'ff',
    initiator: true,
    localIndex,
    remoteIndex: localIndex,
  } as unknown as HostInfo;
}

function node(): ControlledNode & { hostmap: HostMap } {
  const hostmap = new HostMap();
  for (const h of [tunnel(['fd00::3'], 'six', 3), tunnel([ip('10.99.0.2'), 'fd00::2'], 'dual', 2)]) {
    for (const a of h.vpnAddrs) hostmap.byVpnIp.set(a, h);
    hostmap.byPrimary.set(h.vpnIp, h);
  }
  const identity = {
    vpnIp: ip('10.99.0.1'),
    vpnAddrs: [ip('10.99.0.1'), 'fd00::1'],
    vpnNetworks: [parseIpPrefix('10.99.0.1/24'), parseIpPrefix('fd00::1/64')],
    vpnNet: parseCidr('10.99.0.1/24'),
    cert: { details: { name: 'one', notAfter: 2_000_000_000 } },
    initiatingVersion: 2,
  };
  return {
    clock: new ManualClock(),
    counters: new Counters(),
    hostmap,
    handshakes: { pending: new Map([['fd00::9', { attempts: 2, startedAt: 0 }]]), start: () => undefined },
    relays: { table: { byIndex: new Map(), terminalFor: () => undefined } },
    udp: { localPort: 4242 },
    identity: () => identity,
    currentConfig: () => ({ lighthouse: { amLighthouse: false, hosts: ['fd00::99'] }, relay: { amRelay: false } }),
    closeTunnel: () => {},
  } as unknown as ControlledNode & { hostmap: HostMap };
}

const probes = { lastRtt: () => undefined } as unknown as RttProbes;

test("status lists each tunnel once with all its addresses, IPv4 before IPv6, and this node's networks", () => {
  const s = buildStatus(node(), probes);
  assert.deepEqual(
    s.peers.map((p) => [p.name, p.vpnIp, p.vpnAddrs]),
    [
      ['dual', '10.99.0.2', ['10.99.0.2', 'fd00::2']],
      ['six', 'fd00::3', ['fd00::3']],
    ],
  );
  assert.deepEqual(s.self.vpnCidrs, ['10.99.0.1/24', 'fd00::1/64']);
  assert.equal(s.self.vpnCidr, '10.99.0.1/24');
  assert.deepEqual(
    s.pending.map((p) => p.vpnIp),
    ['fd00::9'],
  );
  assert.deepEqual(
    s.lighthouses.map((l) => l.vpnIp),
    ['fd00::99'],
  );

  const text = renderStatus(s, 0);
  assert.match(text.split('\n')[0], /one \(10\.99\.0\.1\/24, fd00::1\/64\)/);
  assert.match(text, /dual\s+10\.99\.0\.2,fd00::2\s+direct/);
  assert.match(text, /six\s+fd00::3\s+direct/);
});

test("a HOST argument may be an IPv6 overlay address: found under any of a tunnel's addresses", async () => {
  const n = node();
  assert.equal(resolveHost(n, 'fd00::2').host?.certName, 'dual');
  assert.equal(resolveHost(n, 'fd00:0:0::2').vpnIp, 'fd00::2', 'canonical text');
  assert.equal(resolveHost(n, 'fd00::3').host?.certName, 'six');
  assert.equal((await tunnelTo(n, 'fd00::2', 10)).certName, 'dual');
  await assert.rejects(tunnelTo(n, 'fd00::1', 10), /is this node/);
  await assert.rejects(tunnelTo(n, 'fd01::2', 10), /outside the overlay network/);
});

test("mesh ping by a dual-stack peer's IPv6 address names that address in the reply, as ping(8) does", async () => {
  const n = node();
  const answering = {
    probe: async () => ({ rttMs: 1.5, from: udpAddr('198.51.100.2', 4242), via: null }),
    lastRtt: () => undefined,
  } as unknown as RttProbes;
  const handle = controlHandler({
    node: n,
    probes: answering,
    whoami: {} as ControlContext['whoami'],
    reload: async () => ({ restartNeeded: [] }),
  });
  const byV6 = (await handle({ command: 'ping', args: { host: 'fd00::2', timeoutMs: 100 } } as never)) as PingReply;
  assert.deepEqual([byV6.vpnIp, byV6.name, byV6.path], ['fd00::2', 'dual', 'direct']);
  const byV4 = (await handle({ command: 'ping', args: { host: '10.99.0.2', timeoutMs: 100 } } as never)) as PingReply;
  assert.equal(byV4.vpnIp, '10.99.0.2');
  const byName = (await handle({ command: 'ping', args: { host: 'six', timeoutMs: 100 } } as never)) as PingReply;
  assert.equal(byName.vpnIp, 'fd00::3');
});

test('whoami with an IPv6 primary address: the question and the answer go in the v2 layout (a v1 one cannot name it)', async () => {
  const out: Array<{ to: VpnIp; bytes: Uint8Array }> = [];
  const asker = new Whoami({
    myIp: () => 'fd00::1',
    send: (h, m) => out.push({ to: h.vpnIp, bytes: encodeMeta(m) }),
  });
  const lighthouse = {
    vpnIp: ip('10.99.0.9'),
    vpnAddrs: [ip('10.99.0.9')],
    remote: udpAddr('198.51.100.9', 4242),
  } as unknown as HostInfo;
  const answer = asker.ask(lighthouse, 1000);
  assert.deepEqual(decodeMeta(out[0].bytes), {
    type: MetaType.HostWhoami,
    vpnIp: 'fd00::1',
    addrs: [],
    relays: [],
    version: 2,
  });

  // The lighthouse side answers the asker by its (IPv6) tunnel address.
  const replies: Uint8Array[] = [];
  const responder = new Whoami({ myIp: () => ip('10.99.0.9'), send: (_h, m) => replies.push(encodeMeta(m)) });
  const me = { vpnIp: 'fd00::1', vpnAddrs: ['fd00::1'], remote: udpAddr('203.0.113.1', 4000) } as unknown as HostInfo;
  assert.equal(responder.onMeta(me, out[0].bytes), true);
  assert.deepEqual(decodeMeta(replies[0]).vpnIp, 'fd00::1');
  assert.equal(asker.onMeta(lighthouse, replies[0]), true);
  assert.deepEqual(
    (await answer).map((a) => `${a.address}:${a.port}`),
    ['203.0.113.1:4000'],
  );
});
