// The firewall on IPv6 packets (docs/ipv6.md): the peer's and our own addresses of both families, rules with
// IPv6 cidr/local_cidr, `proto: icmp` for ICMPv6, conntrack replies and expiry, the default local range.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules, type FirewallPeer, type FirewallSection } from '../../pkg/firewall/firewall.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp } from '../../pkg/ip/vpn-ip.js';
import { ICMPV6, TCP, UDP, ipv4Packet, ipv6Packet, peer, type Packet6Spec } from './firewall-fixtures.js';

const US4 = '10.1.0.1';
const US6 = 'fd00::1';
const MIN = 60_000;
/** Dual-stack, in group admin. */
const alice = peer({ ip: '10.1.0.2', ips: ['fd00::2'], name: 'alice', groups: ['admin'] });
/** IPv6 only, with an IPv6 unsafe network behind it. */
const bob = peer({ ip: 'fd00::3', subnets: ['fd99::/64'], name: 'bob' });
/** IPv6 only, with an IPv4 unsafe network: its IPv4 sources are that network only. */
const carol = peer({ ip: 'fd00::4', subnets: ['192.168.7.0/24'], name: 'carol' });

function firewall(section: FirewallSection, unsafe: string[] = []) {
  const clock = new ManualClock(1_000_000);
  const fw = new Firewall(parseFirewallRules(section, { unsafeNetworks: unsafe.length > 0 }), {
    clock,
    vpnNetworks: ['10.1.0.1/16', 'fd00::1/64'].map(parseIpPrefix),
    unsafeNetworks: unsafe.map(parseIpPrefix),
  });
  return { fw, clock };
}

function from(fw: Firewall, who: FirewallPeer, spec: Partial<Packet6Spec> = {}): string | null {
  const src = spec.src ?? (typeof who.vpnIp === 'string' ? formatVpnIp(who.vpnIp) : 'fd00::2');
  return fw.filter(ipv6Packet({ src, dst: US6, proto: TCP, srcPort: 40000, dstPort: 22, ...spec }), true, who);
}

function to(fw: Firewall, who: FirewallPeer, spec: Partial<Packet6Spec> = {}): string | null {
  return fw.filter(
    ipv6Packet({ src: US6, dst: 'fd00::2', proto: TCP, srcPort: 40000, dstPort: 443, ...spec }),
    false,
    who,
  );
}

const ANY = { port: 'any', proto: 'any', host: 'any' };

test("an IPv6 source must be one of the peer's IPv6 addresses or inside its IPv6 unsafe networks", () => {
  const { fw } = firewall({ inbound: [ANY] });
  assert.equal(from(fw, alice, { src: 'fd00::2' }), null);
  assert.equal(from(fw, alice, { src: 'fd00::5' }), 'remote-not-in-cert', "another host's address");
  assert.equal(
    from(fw, alice, { src: '::ffff:10.1.0.2' }),
    'remote-not-in-cert',
    'its IPv4 address mapped is no IPv6 source',
  );
  assert.equal(from(fw, bob, { src: 'fd99::77' }), null, 'inside its unsafe network');
  assert.equal(from(fw, bob, { src: 'fd98::77' }), 'remote-not-in-cert');
  // A peer built by hand without IPv6 data (as before IPv6) sends no IPv6 at all.
  const legacy: FirewallPeer = {
    vpnIp: 0x0a010002,
    name: 'old',
    groups: new Set(),
    issuer: '',
    caName: '',
    allowedNets: [],
    singleIp: true,
  };
  assert.equal(from(fw, legacy, { src: 'fd00::2' }), 'remote-not-in-cert');
});

test('IPv4 sources of a peer are its IPv4 addresses and IPv4 unsafe networks only, whatever its primary address', () => {
  const { fw } = firewall({ inbound: [ANY] });
  const v4 = (src: string, who: FirewallPeer) =>
    fw.filter(ipv4Packet({ src, dst: US4, proto: TCP, srcPort: 1, dstPort: 22 }), true, who);
  assert.equal(v4('10.1.0.2', alice), null);
  assert.equal(v4('10.1.0.3', bob), 'remote-not-in-cert', 'an IPv6-only peer sends no IPv4');
  assert.equal(v4('192.168.7.9', carol), null, "an IPv6-only peer's IPv4 unsafe network");
  assert.equal(v4('192.168.8.9', carol), 'remote-not-in-cert');
});

test('the local IPv6 address must be one of ours (our addresses /128 and IPv6 unsafe networks), not our whole network', () => {
  const { fw } = firewall({ inbound: [{ ...ANY, local_cidr: 'any' }] }, ['fd77::/48']);
  assert.equal(from(fw, alice, { dst: US6 }), null);
  assert.equal(from(fw, alice, { dst: 'fd00::9' }), 'local-not-ours', 'in our network but not our address');
  assert.equal(from(fw, alice, { dst: 'fd77:0:0:1::5' }), null, 'in our unsafe network');
  assert.equal(from(fw, alice, { dst: 'ff02::1' }), 'local-not-ours', 'multicast');
});

test('IPv6 cidr and local_cidr rules match IPv6 packets; 0.0.0.0/0 and ::/0 each cover one family, any covers both', () => {
  const v4 = (fw: Firewall) =>
    fw.filter(ipv4Packet({ src: '10.1.0.2', dst: US4, proto: TCP, srcPort: 1, dstPort: 22 }), true, alice);
  const cases: [Record<string, unknown>, boolean, boolean][] = [
    [{ cidr: 'fd00::/64' }, true, false],
    [{ cidr: 'fd00::2/128' }, true, false],
    [{ cidr: 'fd00::3/128' }, false, false],
    [{ cidr: '::/0' }, true, false],
    [{ cidr: '0.0.0.0/0' }, false, true],
    [{ cidr: 'any' }, true, true],
    [{ cidr: '10.1.0.0/16' }, false, true],
    [{ host: 'alice', local_cidr: 'fd00::1/128' }, true, false],
    [{ host: 'alice', local_cidr: 'fd00::/16' }, true, false],
    [{ host: 'alice', local_cidr: 'fd01::/16' }, false, false],
    [{ host: 'alice', local_cidr: '0.0.0.0/0' }, false, true],
    [{ host: 'alice', local_cidr: '::/0' }, true, false],
    [{ host: 'alice', local_cidr: 'any' }, true, true],
    [{ cidr: 'fd00::/64', local_cidr: '10.1.0.1/32' }, false, false],
  ];
  for (const [rule, six, four] of cases) {
    const { fw } = firewall({ inbound: [{ port: 22, proto: 'tcp', ...rule }] });
    assert.equal(from(fw, alice) === null, six, `IPv6 packet, rule ${JSON.stringify(rule)}`);
    assert.equal(v4(fw) === null, four, `IPv4 packet, rule ${JSON.stringify(rule)}`);
  }
});

test('proto icmp allows ICMPv6 too (Nebula 1.10+), from the group it names only; tcp/udp rules do not', () => {
  const { fw } = firewall({
    inbound: [
      { proto: 'icmp', group: 'admin' },
      { proto: 'udp', port: 'any', host: 'any' },
    ],
  });
  const ping = (who: FirewallPeer, src: string) => from(fw, who, { src, proto: ICMPV6, icmpType: 128, identifier: 7 });
  assert.equal(ping(alice, 'fd00::2'), null);
  assert.equal(ping(bob, 'fd00::3'), 'no-rule', 'bob is not in admin');
  const { fw: tcpOnly } = firewall({ inbound: [{ proto: 'tcp', port: 'any', host: 'any' }] });
  assert.equal(from(tcpOnly, alice, { proto: ICMPV6, icmpType: 128 }), 'no-rule');
  // The echo identifier keys conntrack only: a port rule never matches it (Nebula 1.11).
  const { fw: port42 } = firewall({ outbound: [{ proto: 'any', port: 42, host: 'any' }] });
  assert.equal(to(port42, alice, { proto: ICMPV6, icmpType: 128, identifier: 42 }), 'no-rule');
  assert.equal(to(port42, alice, { proto: UDP, dstPort: 42 }), null, 'the rule itself works');
  // An IPv4 packet claiming protocol 58 is no ICMP.
  const v4 = ipv4Packet({ src: '10.1.0.2', dst: US4, proto: ICMPV6, srcPort: 1, dstPort: 2 });
  assert.equal(fw.filter(v4, true, alice), 'no-rule');
});

test('an ICMPv6 echo we send lets its reply in, keyed by identifier; another identifier is a new flow', () => {
  const { fw } = firewall({ outbound: [ANY] });
  const echo = (type: number, identifier: number, incoming: boolean) =>
    incoming
      ? from(fw, alice, { src: 'fd00::2', proto: ICMPV6, icmpType: type, identifier })
      : to(fw, alice, { proto: ICMPV6, icmpType: type, identifier });
  assert.equal(echo(129, 42, true), 'no-rule', 'no request sent yet');
  assert.equal(echo(128, 42, false), null);
  assert.equal(echo(129, 42, true), null, 'the reply to our request');
  assert.equal(echo(129, 43, true), 'no-rule', 'a reply to a request never sent');
});

test('IPv6 TCP replies follow our outbound flow, expire with tcp_timeout, and do not cross families', () => {
  const { fw, clock } = firewall({ outbound: [ANY], conntrack: { tcp_timeout: 2 * MIN } });
  const reply = () => from(fw, alice, { src: 'fd00::2', srcPort: 443, dstPort: 40000 });
  assert.equal(reply(), 'no-rule');
  assert.equal(to(fw, alice), null);
  assert.equal(reply(), null);
  assert.equal(fw.conntrackSize, 1);
  // The same ports between our IPv4 addresses are another flow.
  assert.equal(
    fw.filter(ipv4Packet({ src: '10.1.0.2', dst: US4, proto: TCP, srcPort: 443, dstPort: 40000 }), true, alice),
    'no-rule',
  );
  clock.advance(2 * MIN - 1);
  assert.equal(reply(), null, 'refreshed');
  clock.advance(2 * MIN);
  assert.equal(reply(), 'no-rule', 'expired');
  fw.sweep();
  assert.equal(fw.conntrackSize, 0);
});

test('IPv6 flows are re-checked after a reload like IPv4 ones', () => {
  const { fw } = firewall({ inbound: [{ proto: 'udp', port: 53, cidr: 'fd00::/64' }] });
  const query = () => from(fw, alice, { src: 'fd00::2', proto: UDP, srcPort: 5000, dstPort: 53 });
  assert.equal(query(), null);
  fw.replaceRules(parseFirewallRules({ inbound: [{ proto: 'udp', port: 53, cidr: 'fd01::/64' }] }));
  assert.equal(query(), 'no-rule', 'the new rules no longer allow the flow');
});

test('with unsafe networks, a rule without local_cidr covers our IPv6 VPN network but not the IPv6 unsafe one', () => {
  const { fw } = firewall({ inbound: [ANY] }, ['fd77::/48']);
  assert.equal(from(fw, alice, { dst: US6 }), null);
  assert.equal(from(fw, alice, { dst: 'fd77::5' }), 'no-rule');
  const { fw: wide } = firewall({ inbound: [ANY], default_local_cidr_any: true }, ['fd77::/48']);
  assert.equal(from(wide, alice, { dst: 'fd77::5' }), null);
  // An IPv4 unsafe network alone narrows IPv6 rules too (Nebula: any unsafe network turns the default on).
  const { fw: v4unsafe } = firewall({ inbound: [ANY] }, ['192.168.50.0/24']);
  assert.equal(from(v4unsafe, alice, { dst: US6 }), null, 'our IPv6 address is in our VPN network');
});

test('IPv6 drops are counted under their reasons', () => {
  const { fw } = firewall({ inbound: [{ proto: 'tcp', port: 22, host: 'any' }] });
  from(fw, alice, { src: 'fd00::9' });
  from(fw, alice, { ext: [{ type: 60 }, { type: 0 }] });
  from(fw, alice, { dstPort: 23 });
  fw.filter(ipv6Packet({ src: 'fd00::2', dst: US6, proto: TCP }).subarray(0, 39), true, alice);
  assert.deepEqual(
    ['remote-not-in-cert', 'bad-extension-header', 'no-rule', 'short-packet'].map((r) => fw.dropCounts.get(r as never)),
    [1, 1, 1, 1],
  );
});
