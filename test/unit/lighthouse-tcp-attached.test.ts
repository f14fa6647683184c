// A lighthouse answering about a host attached to it over TCP (docs/tcp-fallback.md): the host's virtual address
// (its IP with a port above 65535, pkg/tcp/tcp-addr.ts) is never handed out, nor marked as seen; peers get its
// reported addresses and its relays, and the answer encodes as a valid Nebula message. Nor is it told its own
// virtual address when it asks whoami.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { type VpnIp } from '../../pkg/ip/vpn-ip.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { Whoami } from '../../pkg/control/whoami.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { tcpAddr } from '../../pkg/tcp/tcp-addr.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

function host(vpnIp: string, remote: UdpAddr | null): HostInfo {
  return { vpnIp: parseIpv4(vpnIp), remote } as unknown as HostInfo;
}

test('a query about a TCP-attached host is answered with its reported addresses and relays, never its virtual address', () => {
  const hosts = new Map<VpnIp, HostInfo>();
  const sent: Array<{ to: VpnIp; m: MetaMessage }> = [];
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    remoteAllowed: () => true,
    hostFor: (ip) => hosts.get(ip),
    send: (to, m) => sent.push({ to: to.vpnIp, m }),
    counters: new Counters(),
  });
  const blocked = host('10.99.0.3', tcpAddr('203.0.113.7', 0));
  const asker = host('10.99.0.2', udpAddr('198.51.100.9', 4242));
  for (const h of [blocked, asker]) hosts.set(h.vpnIp, h);
  server.handle(blocked, {
    type: MetaType.HostUpdateNotification,
    vpnIp: blocked.vpnIp,
    addrs: [udpAddr('192.168.1.2', 4242)],
    relays: [parseIpv4('10.99.0.1')],
  });
  server.handle(asker, { type: MetaType.HostQuery, vpnIp: blocked.vpnIp, addrs: [], relays: [] });
  const reply = sent.find((s) => s.m.type === MetaType.HostQueryReply)?.m as MetaMessage;
  assert.deepEqual(reply.addrs.map(addrKey), ['192.168.1.2:4242']);
  assert.deepEqual(reply.relays, [parseIpv4('10.99.0.1')]);
  assert.equal(reply.seen ?? 0, 0, 'no address was seen');
  assert.deepEqual(
    decodeMeta(encodeMeta(reply)).addrs.map(addrKey),
    ['192.168.1.2:4242'],
    'a valid message on the wire',
  );
});

test('a whoami from a TCP-attached host is answered without its virtual address, in a message that encodes validly', () => {
  const sent: MetaMessage[] = [];
  const whoami = new Whoami({ myIp: () => parseIpv4('10.99.0.1'), send: (_h, m) => sent.push(m) });
  const blocked = host('10.99.0.3', tcpAddr('203.0.113.7', 5));
  const ask = encodeMeta({ type: MetaType.HostWhoami, vpnIp: blocked.vpnIp, addrs: [], relays: [] });
  assert.ok(whoami.onMeta(blocked, ask));
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].addrs, []);
  assert.deepEqual(decodeMeta(encodeMeta(sent[0])).addrs, []);
  const direct = host('10.99.0.2', udpAddr('198.51.100.9', 4242));
  whoami.onMeta(direct, ask);
  assert.deepEqual(sent[1].addrs.map(addrKey), ['198.51.100.9:4242'], 'a UDP peer still hears its address');
});
