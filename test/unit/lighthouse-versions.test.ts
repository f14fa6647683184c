import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4, type Ipv4 } from '../../pkg/ip/ipv4.js';
import { LighthouseClient } from '../../pkg/lighthouse/client.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { lighthouseClientEnv } from './helpers/lighthouse-client-env.js';

// Which layout lighthouse messages go in (docs/wire-format.md): a lighthouse answers a query and acknowledges an
// update in the version of the request, and punches in the version of the punched host's tunnel; a client sends in
// the version of its lighthouse tunnel (HostInfo.certVersion). Everything goes through the codec, as on the wire.

const ip = parseIpv4;
const LH = ip('10.99.0.1');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function host(
  vpnIp: Ipv4,
  certVersion: 1 | 2,
  remote: UdpAddr | null = udpAddr(`198.51.100.${vpnIp & 0xff}`, 4242),
): HostInfo {
  return { vpnIp, remote, certVersion } as unknown as HostInfo;
}

interface Wire {
  to: string;
  bytes: Uint8Array;
  m: MetaMessage;
}

function serverSetup() {
  const hosts = new Map<VpnIp, HostInfo>();
  const wire: Wire[] = [];
  const counters = new Counters();
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    remoteAllowed: () => true,
    hostFor: (vpnIp) => hosts.get(vpnIp),
    send: (to, m) => {
      const bytes = encodeMeta(m);
      wire.push({ to: formatVpnIp(to.vpnIp), bytes, m: decodeMeta(bytes) });
    },
    counters,
  });
  const connect = (vpnIp: string, certVersion: 1 | 2): HostInfo => {
    const h = host(ip(vpnIp), certVersion);
    hosts.set(h.vpnIp, h);
    return h;
  };
  /** Hands the server a message as it would arrive: encoded in `version`, then decoded. */
  const receive = (from: HostInfo, m: MetaMessage, version: 1 | 2): void =>
    server.handle(from, decodeMeta(encodeMeta(m, version)));
  return { server, wire, counters, connect, receive };
}

test('a v2 query is answered in v2 and a v1 query in v1; the punch goes in the punched host tunnel version', () => {
  const { wire, connect, receive } = serverSetup();
  const v1host = connect('10.99.0.5', 1);
  const v2host = connect('10.99.0.6', 2);
  receive(
    v2host,
    { type: MetaType.HostUpdateNotification, vpnIp: 0, addrs: [udpAddr('192.0.2.6', 4242)], relays: [ip('10.99.0.9')] },
    2,
  );
  receive(
    v1host,
    {
      type: MetaType.HostUpdateNotification,
      vpnIp: v1host.vpnIp,
      addrs: [udpAddr('192.0.2.5', 4242)],
      relays: [ip('10.99.0.9')],
    },
    1,
  );
  wire.length = 0;

  receive(v2host, { type: MetaType.HostQuery, vpnIp: v1host.vpnIp, addrs: [], relays: [] }, 2);
  const [reply, punch] = wire.splice(0);
  assert.equal(reply.to, '10.99.0.6');
  assert.equal(reply.m.type, MetaType.HostQueryReply);
  assert.equal(reply.m.version, 2, 'the v2 query is answered in v2');
  assert.equal(reply.m.vpnIp, v1host.vpnIp, 'naming the host by its IPv4-mapped VpnAddr');
  assert.deepEqual(reply.m.relays, [ip('10.99.0.9')]);
  assert.equal(punch.to, '10.99.0.5');
  assert.equal(punch.m.type, MetaType.HostPunchNotification);
  assert.equal(punch.m.version, undefined, 'the v1 host is told in v1');
  assert.equal(punch.m.vpnIp, v2host.vpnIp);

  receive(v1host, { type: MetaType.HostQuery, vpnIp: v2host.vpnIp, addrs: [], relays: [] }, 1);
  const [reply1, punch1] = wire.splice(0);
  assert.equal(reply1.m.version, undefined, 'the v1 query is answered in v1');
  assert.equal(reply1.m.vpnIp, v2host.vpnIp);
  assert.deepEqual(reply1.m.relays, [ip('10.99.0.9')]);
  assert.equal(punch1.m.version, 2, 'the v2 host is told in v2');
});

test('every accepted update is acknowledged in its version (v1 names the host, v2 is blank); a refused one is not', () => {
  const { wire, counters, connect, receive } = serverSetup();
  const v1host = connect('10.99.0.5', 1);
  const v2host = connect('10.99.0.6', 2);
  receive(v1host, { type: MetaType.HostUpdateNotification, vpnIp: v1host.vpnIp, addrs: [], relays: [] }, 1);
  assert.deepEqual(
    wire.map((w) => [w.to, hex(w.bytes)]),
    [['10.99.0.5', '080a12050885808c53']],
  );
  wire.length = 0;
  // Nebula's v2 update leaves VpnAddr out; one that names its sender is accepted too.
  receive(v2host, { type: MetaType.HostUpdateNotification, vpnIp: 0, addrs: [], relays: [] }, 2);
  receive(v2host, { type: MetaType.HostUpdateNotification, vpnIp: v2host.vpnIp, addrs: [], relays: [] }, 2);
  assert.deepEqual(
    wire.map((w) => [w.to, hex(w.bytes)]),
    [
      ['10.99.0.6', '080a1200'],
      ['10.99.0.6', '080a1200'],
    ],
  );
  wire.length = 0;
  // Naming someone else: refused, counted, not acknowledged, in either layout.
  receive(v1host, { type: MetaType.HostUpdateNotification, vpnIp: v2host.vpnIp, addrs: [], relays: [] }, 1);
  receive(v2host, { type: MetaType.HostUpdateNotification, vpnIp: v1host.vpnIp, addrs: [], relays: [] }, 2);
  assert.deepEqual(wire, []);
  assert.equal(counters.get('drops', 'lighthouse-update-wrong-vpnip'), 2);
});

function clientSetup(certVersion: 1 | 2) {
  const sent: Wire[] = [];
  const counters = new Counters();
  const lh = host(LH, certVersion);
  const client = new LighthouseClient(
    lighthouseClientEnv({
      lighthouses: () => [LH],
      vpnAddrs: () => [ip('10.99.0.2')],
      hostFor: (vpnIp) => (vpnIp === LH ? lh : undefined),
      send: (to, m) => {
        const bytes = encodeMeta(m);
        sent.push({ to: formatVpnIp(to.vpnIp), bytes, m: decodeMeta(bytes) });
      },
      ownAddresses: () => [udpAddr('192.0.2.2', 4242)],
      relays: () => [ip('10.99.0.9')],
      counters,
    }),
  );
  return { client, sent, counters, lh };
}

test('a client sends in the layout of its lighthouse tunnel; a v2 update leaves VpnAddr out as Nebula does', () => {
  for (const certVersion of [1, 2] as const) {
    const { client, sent, lh } = clientSetup(certVersion);
    client.lighthouseUp(lh);
    client.query(ip('10.99.0.7'));
    assert.deepEqual(
      sent.map((s) => [MetaType[s.m.type], s.m.version]),
      [
        ['HostUpdateNotification', certVersion === 2 ? 2 : undefined],
        ['HostQuery', certVersion === 2 ? 2 : undefined],
        ['HostQuery', certVersion === 2 ? 2 : undefined],
      ],
    );
    const update = sent[0].m;
    assert.equal(update.vpnIp, certVersion === 2 ? 0 : ip('10.99.0.2'));
    assert.deepEqual(update.relays, [ip('10.99.0.9')]);
    assert.equal(sent[2].m.vpnIp, ip('10.99.0.7'));
  }
});

test('a client takes the Ack of either layout as an Ack, not as an unknown message', () => {
  const { client, counters, lh } = clientSetup(2);
  client.handle(lh, decodeMeta(Buffer.from('080a1200', 'hex')));
  client.handle(lh, decodeMeta(Buffer.from('080a12050882808c53', 'hex')));
  assert.equal(counters.get('lighthouse', 'update-ack'), 2);
  assert.equal(counters.get('lighthouse', 'ignored-HostUpdateNotificationAck'), 0);
});
