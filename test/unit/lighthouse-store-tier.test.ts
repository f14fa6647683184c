import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock, unixMs } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { AllowList } from '../../pkg/lighthouse/allow-list.js';
import { MetaType, SEEN_FIRST_V4, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import type {
  LighthouseStore,
  PunchRequest,
  RemoteHost,
  ServedHost,
  StoreOwner,
} from '../../pkg/lighthouse/store/store.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// The lighthouse server in a tier (pkg/lighthouse/store/tier.ts, docs/lighthouse-tier.md), through an in-memory
// twin of the shared store: a query about a host another lighthouse serves is answered from the tier, filtered as
// that host's own report would be, and its punch notification goes out from the serving lighthouse; the local view
// comes first; the memory store (the default) shares nothing.

const VPN_PREFIX = parseIpPrefix('10.99.0.0/24');
const ip = parseIpv4;
const a = (address: string, port: number): UdpAddr => udpAddr(address, port);
const TTL = 30_000;

/** What every lighthouse of the twin tier sees: one record per host, the last writer's. */
class TwinTier {
  readonly records = new Map<VpnIp, RemoteHost>();
  readonly owners = new Map<string, StoreOwner>();
  constructor(readonly clock: ManualClock) {}
  store(id: string): LighthouseStore {
    return {
      kind: 'nats',
      attach: (owner) => void this.owners.set(id, owner),
      changed: (h: ServedHost) => void this.records.set(h.vpnIp, { ...h, servedBy: id, writtenAt: unixMs(this.clock) }),
      withdraw: (vpnIp) => void (this.records.get(vpnIp)?.servedBy === id && this.records.delete(vpnIp)),
      lookup: (vpnIp) => {
        const r = this.records.get(vpnIp);
        return r && r.servedBy !== id && unixMs(this.clock) - r.writtenAt <= TTL ? r : undefined;
      },
      remoteHosts: () => [...this.records.values()].filter((r) => r.servedBy !== id),
      remoteHostsNamed: (name) =>
        [...this.records.values()].filter((r) => r.servedBy !== id && r.name?.toLowerCase() === name.toLowerCase()),
      requestPunch: (servedBy: string, request: PunchRequest) => this.owners.get(servedBy)?.punchRequested(request),
      close: async () => {},
    };
  }
}

interface Sent {
  from: string;
  to: string;
  type: MetaType;
  vpnIp: string;
  addrs: string[];
  relays: string[];
  seen?: number;
}

function lighthouse(
  id: string,
  store: LighthouseStore | undefined,
  sent: Sent[],
  allow?: Record<string, boolean>,
  clock?: ManualClock,
) {
  const hosts = new Map<VpnIp, HostInfo>();
  const counters = new Counters();
  const allowList = new AllowList(allow);
  const server = new LighthouseServer({
    vpnNetworks: () => [VPN_PREFIX],
    ...(clock ? { clock } : {}),
    remoteAllowed: (_vpnIp, addr) => allowList.allows(addr.address),
    hostFor: (vpnIp) => hosts.get(vpnIp),
    tunnelEvents: new HostMap(),
    send: (to: HostInfo, m: MetaMessage) => {
      if (m.type === MetaType.HostUpdateNotificationAck) return;
      sent.push({
        from: id,
        to: formatVpnIp(to.vpnIp),
        type: m.type,
        vpnIp: formatVpnIp(m.vpnIp),
        addrs: m.addrs.map(addrKey),
        relays: m.relays.map(formatVpnIp),
        seen: m.seen,
      });
    },
    counters,
    ...(store ? { store } : {}),
  });
  const connect = (
    vpnIp: string,
    remote: UdpAddr | null,
    reported: UdpAddr[] = [],
    relays: string[] = [],
  ): HostInfo => {
    const h = { vpnIp: ip(vpnIp), remote } as unknown as HostInfo;
    hosts.set(h.vpnIp, h);
    server.handle(h, {
      type: MetaType.HostUpdateNotification,
      vpnIp: h.vpnIp,
      addrs: reported,
      relays: relays.map(ip),
    });
    return h;
  };
  const query = (from: HostInfo, target: string): void =>
    server.handle(from, { type: MetaType.HostQuery, vpnIp: ip(target), addrs: [], relays: [] });
  const disconnect = (vpnIp: string): void => {
    hosts.delete(ip(vpnIp));
    server.forget(ip(vpnIp));
  };
  return { server, counters, connect, query, disconnect };
}

function tier(allow?: Record<string, boolean>) {
  const clock = new ManualClock();
  const twin = new TwinTier(clock);
  const sent: Sent[] = [];
  return {
    clock,
    twin,
    sent,
    lh1: lighthouse('lh-1', twin.store('lh-1'), sent, allow, clock),
    lh3: lighthouse('lh-3', twin.store('lh-3'), sent, allow, clock),
  };
}

test('a query about a host another lighthouse serves is answered from the tier, and that lighthouse makes the host punch', () => {
  const { sent, lh1, lh3 } = tier();
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242), [a('192.168.1.11', 4242)]);
  lh3.connect('10.99.0.33', a('198.51.100.33', 4000), [a('192.168.3.33', 4242)], ['10.99.0.50']);
  lh1.query(asker, '10.99.0.33');
  assert.deepEqual(sent, [
    {
      from: 'lh-1',
      to: '10.99.0.11',
      type: MetaType.HostQueryReply,
      vpnIp: '10.99.0.33',
      addrs: ['198.51.100.33:4000', '192.168.3.33:4242'],
      relays: ['10.99.0.50'],
      seen: SEEN_FIRST_V4,
    },
    {
      from: 'lh-3',
      to: '10.99.0.33',
      type: MetaType.HostPunchNotification,
      vpnIp: '10.99.0.11',
      addrs: ['203.0.113.11:4242', '192.168.1.11:4242'],
      relays: [],
      seen: undefined,
    },
  ]);
  assert.equal(lh1.counters.get('lighthouse', 'query-tier'), 1);
  assert.equal(lh3.counters.get('lighthouse', 'tier-punch'), 1);
});

test('addresses from the tier pass the same filters as a host report: remote_allow_list and the overlay network', () => {
  const { sent, twin, lh1, lh3 } = tier({ '0.0.0.0/0': true, '192.168.0.0/16': false });
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242), [a('192.168.1.11', 4242)]);
  lh3.connect('10.99.0.33', a('198.51.100.33', 4000));
  // As a hostile or misconfigured lighthouse could write it: a denied address, one inside the overlay network.
  twin.records.set(ip('10.99.0.33'), {
    ...twin.records.get(ip('10.99.0.33'))!,
    reported: [a('192.168.3.33', 4242), a('10.99.0.7', 4242), a('198.51.100.34', 4242)],
  });
  lh1.query(asker, '10.99.0.33');
  assert.deepEqual(sent[0].addrs, ['198.51.100.33:4000', '198.51.100.34:4242']);
  // The asker's addresses, told to the host on lh-3, are filtered there too.
  assert.deepEqual(sent[1].addrs, ['203.0.113.11:4242']);
});

test('a learned address the allow list refuses is not claimed as seen', () => {
  const { sent, lh1, lh3 } = tier({ '0.0.0.0/0': true, '198.51.100.0/24': false });
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242));
  lh3.connect('10.99.0.33', a('198.51.100.33', 4000), [a('203.0.113.33', 4242)]);
  lh1.query(asker, '10.99.0.33');
  assert.deepEqual(sent[0].addrs, ['203.0.113.33:4242']);
  assert.equal(sent[0].seen, 0);
});

test('the local view comes first: a host with a tunnel here is answered from here, whatever the tier says', () => {
  const { sent, lh1, lh3 } = tier();
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242));
  lh1.connect('10.99.0.33', a('198.51.100.99', 4999));
  lh3.connect('10.99.0.33', a('198.51.100.33', 4000)); // the tier's record is lh-3's, the last writer's
  lh1.query(asker, '10.99.0.33');
  assert.deepEqual(
    sent.map((s) => [s.from, s.type, s.addrs[0]]),
    [
      ['lh-1', MetaType.HostQueryReply, '198.51.100.99:4999'],
      ['lh-1', MetaType.HostPunchNotification, '203.0.113.11:4242'],
    ],
  );
});

test('a host whose tunnel closed is withdrawn from the tier; an expired record is not served', () => {
  const { sent, clock, lh1, lh3 } = tier();
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242));
  lh3.connect('10.99.0.33', a('198.51.100.33', 4000));
  lh3.disconnect('10.99.0.33');
  lh1.query(asker, '10.99.0.33');
  lh3.connect('10.99.0.34', a('198.51.100.34', 4000));
  clock.advance(TTL + 1);
  lh1.query(asker, '10.99.0.34');
  assert.deepEqual(sent, []);
  assert.equal(lh1.counters.get('lighthouse', 'query-unknown'), 2);
});

test('the memory store (the default) shares nothing: a host on another lighthouse stays unknown, as with Nebula', () => {
  const sent: Sent[] = [];
  const lh1 = lighthouse('lh-1', undefined, sent);
  const lh3 = lighthouse('lh-3', undefined, sent);
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242));
  lh3.connect('10.99.0.33', a('198.51.100.33', 4000));
  lh1.query(asker, '10.99.0.33');
  assert.deepEqual(sent, []);
});

test('a punch request for a host we no longer serve is dropped, and a v1 host is never told an IPv6 asker', () => {
  const { twin, sent, lh3 } = tier();
  twin.owners
    .get('lh-3')!
    .punchRequested({ target: ip('10.99.0.33'), asker: ip('10.99.0.11'), askerAddrs: [a('203.0.113.11', 4242)] });
  twin.owners.get('lh-3')!.punchRequested({ target: 'fd00::33', asker: ip('10.99.0.11'), askerAddrs: [] });
  assert.deepEqual(sent, []);
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-unknown'), 2);
  lh3.connect('10.99.0.34', a('198.51.100.34', 4000));
  twin.owners
    .get('lh-3')!
    .punchRequested({ target: ip('10.99.0.34'), asker: 'fd00::11', askerAddrs: [a('203.0.113.11', 4242)] });
  assert.deepEqual(sent, []);
  assert.equal(lh3.counters.get('lighthouse', 'v1-ipv6-skipped'), 1);
});

test('punch requests from the tier: one per second per target and asker, the asker named by an address the target can use', () => {
  const { twin, sent, lh3, clock } = tier();
  lh3.connect('10.99.0.34', a('198.51.100.34', 4000));
  const owner = twin.owners.get('lh-3')!;
  // A dual-stack asker whose primary is IPv6: the v1 tunnel is told its IPv4 address.
  const request = {
    target: ip('10.99.0.34'),
    asker: 'fd00::11',
    askers: ['fd00::11', ip('10.99.0.11')],
    askerAddrs: [a('203.0.113.11', 4242)],
  };
  for (let i = 0; i < 50; i++) owner.punchRequested(request);
  assert.equal(sent.length, 1, 'one notification for 50 requests within a second');
  assert.equal(sent[0].type, MetaType.HostPunchNotification);
  assert.equal(sent[0].vpnIp, '10.99.0.11');
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-rate'), 49);
  clock.advance(1000);
  owner.punchRequested(request);
  assert.equal(sent.length, 2, 'a second later the pair may punch again');
  // Another asker is not held back by the first one's limit.
  owner.punchRequested({ ...request, asker: ip('10.99.0.12'), askers: [ip('10.99.0.12')] });
  assert.equal(sent.length, 3);
});

test('a tier record for an address outside our overlay networks is never answered', () => {
  const { sent, clock, twin, lh1 } = tier();
  const asker = lh1.connect('10.99.0.11', a('203.0.113.11', 4242));
  const vpnIp = ip('192.0.2.50');
  twin.records.set(vpnIp, {
    vpnIp,
    servedBy: 'lh-3',
    writtenAt: unixMs(clock),
    learned: a('198.51.100.50', 4242),
    reported: [],
    relays: [],
  });
  lh1.query(asker, '192.0.2.50');
  assert.deepEqual(sent, []);
  assert.equal(lh1.counters.get('lighthouse', 'query-unknown'), 1);
});
