import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock, unixMs } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { AllowList } from '../../pkg/lighthouse/allow-list.js';
import { encodeMeta, MetaType, SEEN_FIRST_V4, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { TIER_PUNCHES_PER_SECOND } from '../../pkg/lighthouse/store/punch-limit.js';
import { decodePunch, encodePunch, RecordError } from '../../pkg/lighthouse/store/record.js';
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
const VPN6_PREFIX = parseIpPrefix('fd00::/64');
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
      publishes: true,
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
  allow?: Record<string, boolean> | ((vpnIp: VpnIp, addr: UdpAddr) => boolean),
  clock?: ManualClock,
) {
  const hosts = new Map<VpnIp, HostInfo>();
  const counters = new Counters();
  /** Every message sent but acks, as sent (for their encoded size). */
  const metas: MetaMessage[] = [];
  const allowList = new AllowList(typeof allow === 'function' ? undefined : allow);
  const server = new LighthouseServer({
    vpnNetworks: () => [VPN_PREFIX, VPN6_PREFIX],
    ...(clock ? { clock } : {}),
    remoteAllowed: (vpnIp, addr) => (typeof allow === 'function' ? allow(vpnIp, addr) : allowList.allows(addr.address)),
    hostFor: (vpnIp) => hosts.get(vpnIp),
    tunnelEvents: new HostMap(),
    send: (to: HostInfo, m: MetaMessage) => {
      if (m.type === MetaType.HostUpdateNotificationAck) return;
      metas.push(m);
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
    moreAddrs: VpnIp[] = [],
  ): HostInfo => {
    const vpnAddrs = moreAddrs.length > 0 ? [ip(vpnIp), ...moreAddrs] : undefined;
    const h = { vpnIp: ip(vpnIp), remote, ...(vpnAddrs ? { vpnAddrs } : {}) } as unknown as HostInfo;
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
  return { server, counters, metas, connect, query, disconnect };
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

test('remote_allow_list judges a dual-stack host by every one of its addresses, as for its own report (AllowAll)', () => {
  // The strict lighthouse's rule for IPv6 overlay addresses refuses 192.168.0.0/16 and 203.0.113.0/24.
  const strict = (vpnIp: VpnIp, addr: UdpAddr) =>
    !(typeof vpnIp === 'string' && /^(192\.168\.|203\.0\.113\.)/.test(addr.address));
  const open = () => true;
  /** A tier of lh-1 (the asker's) and lh-3 (the target's), both hosts dual-stack with an IPv4 primary. */
  const run = (allow1: typeof strict, allow3: typeof strict) => {
    const clock = new ManualClock();
    const twin = new TwinTier(clock);
    const sent: Sent[] = [];
    const lh1 = lighthouse('lh-1', twin.store('lh-1'), sent, allow1, clock);
    const lh3 = lighthouse('lh-3', twin.store('lh-3'), sent, allow3, clock);
    const asker = lh1.connect('10.99.0.11', a('198.51.100.11', 4242), [a('203.0.113.11', 4242)], [], ['fd00::11']);
    const target = [a('192.168.3.33', 4242), a('198.51.100.34', 4242)];
    lh3.connect('10.99.0.33', a('198.51.100.33', 4000), target, [], ['fd00::33']);
    lh1.query(asker, '10.99.0.33');
    return { twin, sent };
  };
  // lh-1 strict: the target's record, read from the tier, keeps only what passes for fd00::33 as well.
  const answered = run(strict, open);
  assert.deepEqual(answered.twin.records.get(ip('10.99.0.33'))?.vpnAddrs, [ip('10.99.0.33'), 'fd00::33']);
  assert.deepEqual(answered.sent[0].addrs, ['198.51.100.33:4000', '198.51.100.34:4242'], 'the reply at lh-1');
  // lh-3 strict: what it tells its host about lh-1's asker passes for fd00::11 as well.
  const punched = run(open, strict);
  assert.equal(punched.sent[1].type, MetaType.HostPunchNotification);
  assert.deepEqual(punched.sent[1].addrs, ['198.51.100.11:4242'], 'the punch at lh-3');
});

test('a punch request naming an asker outside our overlay, or the target itself, makes the host punch nowhere', () => {
  const { twin, sent, lh3 } = tier();
  lh3.connect('10.99.0.34', a('198.51.100.34', 4000));
  const owner = twin.owners.get('lh-3')!;
  const askerAddrs = [a('203.0.113.11', 4242)];
  owner.punchRequested({ target: ip('10.99.0.34'), asker: ip('192.0.2.7'), askerAddrs });
  owner.punchRequested({ target: ip('10.99.0.34'), asker: ip('10.99.0.11'), askers: ['2001:db8::11'], askerAddrs });
  owner.punchRequested({ target: ip('10.99.0.34'), asker: ip('10.99.0.34'), askerAddrs });
  assert.deepEqual(sent, []);
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-asker'), 3);
  owner.punchRequested({ target: ip('10.99.0.34'), asker: ip('10.99.0.11'), askerAddrs });
  assert.equal(sent.length, 1, 'an asker of our overlay is punched toward');
});

test('a publisher naming a new asker each time cannot make a lighthouse send more than it sent, nor more than the budget', () => {
  const { twin, lh3, clock } = tier();
  const targets = ['10.99.0.31', '10.99.0.32', '10.99.0.33', '10.99.0.34'];
  for (const t of targets) lh3.connect(t, a('198.51.100.34', 4000));
  const owner = twin.owners.get('lh-3')!;
  // As many asker addresses as a request may carry (22), all IPv4: a notification takes at most 11 of them. (With the
  // shortest IPv6 literals a notification is the larger one: the worst-case test below.)
  const askerAddrs = Array.from({ length: 22 }, (_, i) => a(`203.0.113.${i + 1}`, 4242));
  let bytesIn = 0;
  let smallestIn = Infinity;
  const publish = (target: string, asker: number): void => {
    const wire = encodePunch({ target: ip(target), asker: ip(`10.99.0.${asker}`), askerAddrs });
    bytesIn += wire.length;
    smallestIn = Math.min(smallestIn, wire.length);
    owner.punchRequested(decodePunch(wire)); // exactly what nats-store.ts hands over
  };
  // 150 askers x 4 targets = 600 pairs, each sent 5 times within one second: 3000 requests.
  for (let round = 0; round < 5; round++) for (const t of targets) for (let k = 100; k < 250; k++) publish(t, k);
  const notifications = lh3.metas.filter((m) => m.type === MetaType.HostPunchNotification);
  assert.equal(notifications.length, TIER_PUNCHES_PER_SECOND, 'the budget of one second, whatever the pairs');
  // The pairs let through are refused again as pairs, the others by the spent budget.
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-rate'), 4 * TIER_PUNCHES_PER_SECOND);
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-rate-all'), 3000 - 5 * TIER_PUNCHES_PER_SECOND);
  // On the wire each notification is its encoding plus the 16-byte header and the 16-byte AEAD tag.
  const sizes = notifications.map((m) => encodeMeta(m).length + 32);
  assert.ok(Math.max(...sizes) < smallestIn, `a notification (${Math.max(...sizes)} B) outgrows a request`);
  assert.ok(
    sizes.reduce((x, y) => x + y, 0) < bytesIn,
    `sent ${sizes.reduce((x, y) => x + y, 0)} B for ${bytesIn} B received`,
  );
  assert.ok(
    notifications.every((m) => m.addrs.length === 11),
    'capped per family as a querier',
  );
  // A rate, not a cap: the next second lets the next pairs through.
  clock.advance(1000);
  publish('10.99.0.31', 250);
  assert.equal(lh3.metas.filter((m) => m.type === MetaType.HostPunchNotification).length, 501);
});

test('the pair limit holds for the asker the notification names, however the request names its primary', () => {
  const { twin, sent, lh3 } = tier();
  lh3.connect('10.99.0.34', a('198.51.100.34', 4000)); // a v1 tunnel: told an IPv4 asker only
  const owner = twin.owners.get('lh-3')!;
  const askerAddrs = [a('203.0.113.11', 4242)];
  // A new IPv6 primary each time, the same IPv4 address named: one notification, not one per primary.
  for (let i = 1; i <= 10; i++)
    owner.punchRequested({
      target: ip('10.99.0.34'),
      asker: `fd00::${i + 100}`,
      askers: [`fd00::${i + 100}`, ip('10.99.0.11')],
      askerAddrs,
    });
  assert.deepEqual(
    sent.map((s) => s.vpnIp),
    ['10.99.0.11'],
  );
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-rate'), 9);
});

test('a punch request whose askers do not start with its asker is refused by the decoder', () => {
  const request = { target: ip('10.99.0.34'), asker: ip('10.99.0.100'), askerAddrs: [a('203.0.113.11', 4242)] };
  assert.throws(() => decodePunch(encodePunch({ ...request, askers: [ip('10.99.0.11')] })), RecordError);
  assert.throws(() => decodePunch(encodePunch({ ...request, askers: [ip('10.99.0.11'), ip('10.99.0.100')] })));
  assert.equal(decodePunch(encodePunch({ ...request, askers: [ip('10.99.0.100'), 'fd00::100'] })).asker, request.asker);
});

test('a dual-stack asker with one address outside our networks is punched toward by the one inside (mixed tier)', () => {
  const { twin, sent, lh3 } = tier();
  // A v2 dual-stack target; the asker's IPv6 address lies in a network this lighthouse does not carry.
  const host = lh3.connect('10.99.0.34', a('198.51.100.34', 4000), [], [], ['fd00::34']);
  Object.assign(host, { certVersion: 2 });
  const owner = twin.owners.get('lh-3')!;
  const askerAddrs = [a('203.0.113.11', 4242)];
  owner.punchRequested({
    target: ip('10.99.0.34'),
    asker: '2001:db8::11',
    askers: ['2001:db8::11', ip('10.99.0.11')],
    askerAddrs,
  });
  owner.punchRequested({
    target: ip('10.99.0.34'),
    asker: ip('10.99.0.12'),
    askers: [ip('10.99.0.12'), '2001:db8::12'],
    askerAddrs,
  });
  assert.deepEqual(
    sent.map((s) => [s.type, s.vpnIp, s.addrs]),
    [
      [MetaType.HostPunchNotification, '10.99.0.11', ['203.0.113.11:4242']],
      [MetaType.HostPunchNotification, '10.99.0.12', ['203.0.113.11:4242']],
    ],
  );
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-asker'), 0);
  // Still no punch for an asker sharing an address with the target.
  owner.punchRequested({
    target: ip('10.99.0.34'),
    asker: ip('10.99.0.13'),
    askers: [ip('10.99.0.13'), 'fd00::34'],
    askerAddrs,
  });
  assert.equal(sent.length, 2);
  assert.equal(lh3.counters.get('drops', 'lighthouse-tier-punch-asker'), 1);
});

test('worst case on the wire: with the shortest IPv6 literals a notification is larger than its request, at most 1.2 times', () => {
  for (const certVersion of [1, 2]) {
    const { twin, lh3 } = tier();
    Object.assign(lh3.connect('10.99.0.34', a('198.51.100.34', 4000)), { certVersion });
    // `"[1::]:1",` is 10 bytes of JSON; its Ip6AndPort is ~13: the shape that turns the sizes round.
    const askerAddrs = Array.from({ length: 11 }, (_, i) => a(`${(i + 1).toString(16)}::`, 1));
    const wire = encodePunch({ target: ip('10.99.0.34'), asker: ip('10.99.0.1'), askerAddrs });
    twin.owners.get('lh-3')!.punchRequested(decodePunch(wire));
    assert.equal(lh3.metas.length, 1);
    // On the wire: the encoding plus the 16-byte header and the 16-byte AEAD tag.
    const out = encodeMeta(lh3.metas[0]).length + 32;
    assert.equal(lh3.metas[0].addrs.length, 11);
    assert.ok(out <= 1.2 * wire.length, `v${certVersion}: ${wire.length} B in, ${out} B out`);
  }
});
