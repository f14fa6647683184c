// local_cidr (Nebula 1.7+) and its default (1.10+), `cidr: any` (1.10), on a host whose certificate carries an
// unsafe network (192.168.100.0/24) and on one without.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules, type FirewallSection } from '../../pkg/firewall/firewall.js';
import { parseCidr, parseIpv4 } from '../../pkg/ip/ipv4.js';
import { TCP, ipv4Packet, peer } from './firewall-fixtures.js';
import { formatVpnIp } from '../../pkg/ip/vpn-ip.js';

const VPN_IP = '10.1.0.1';
const ASSIGNED = [parseCidr(`${VPN_IP}/16`)];
const UNSAFE = [parseCidr('192.168.100.0/24')];
const ROUTER_NETS = [{ ip: parseIpv4(VPN_IP), mask: 0xffffffff }, ...UNSAFE];
const alice = peer({ ip: '10.1.0.2', name: 'alice', groups: ['remote_client'] });
const bob = peer({ ip: '10.1.0.3', name: 'bob', groups: ['laptop'] });

type Rule = Record<string, unknown>;

function router(section: FirewallSection): Firewall {
  return new Firewall(parseFirewallRules(section, { unsafeNetworks: true }), {
    clock: new ManualClock(),
    localNets: ROUTER_NETS,
    assignedNets: ASSIGNED,
    unsafeNets: UNSAFE,
  });
}

/** Verdict on a TCP packet from `from` to `dst`:`port`, by a fresh firewall (no conntrack). */
function to(fw: Firewall, dst: string, from = alice, port = 8080): string | null {
  const src = formatVpnIp(from.vpnIp);
  return fw.filter(ipv4Packet({ src, dst, proto: TCP, srcPort: 40000, dstPort: port }), true, from);
}

test('a rule with local_cidr reaches only that local range (the 1.9+ example: a subnet for group remote_client)', () => {
  const rules: Rule[] = [{ port: 8080, proto: 'tcp', group: 'remote_client', local_cidr: '192.168.100.1/24' }];
  const fw = () => router({ inbound: rules });
  assert.equal(to(fw(), '192.168.100.7'), null);
  assert.equal(to(fw(), VPN_IP), 'no-rule', 'our VPN address is outside the local_cidr');
  assert.equal(to(fw(), '192.168.100.7', bob), 'no-rule', 'the group still applies');
  assert.equal(to(fw(), '192.168.100.7', alice, 8081), 'no-rule', 'the port still applies');
});

test('without local_cidr, a rule on a host with unsafe networks reaches only its VPN address (Nebula 1.10+)', () => {
  const rules: Rule[] = [{ port: 'any', proto: 'any', host: 'any' }];
  assert.equal(to(router({ inbound: rules }), VPN_IP), null);
  assert.equal(to(router({ inbound: rules }), '192.168.100.7'), 'no-rule');
  // default_local_cidr_any: true brings back 1.9's meaning.
  assert.equal(to(router({ inbound: rules, default_local_cidr_any: true }), '192.168.100.7'), null);
  // local_cidr: any (1.10) and 0.0.0.0/0 reach everything we route.
  assert.equal(to(router({ inbound: [{ ...rules[0], local_cidr: 'any' }] }), '192.168.100.7'), null);
  assert.equal(to(router({ inbound: [{ ...rules[0], local_cidr: '0.0.0.0/0' }] }), '192.168.100.7'), null);
});

test('without unsafe networks, a rule without local_cidr reaches every local address we handle', () => {
  const fw = new Firewall(parseFirewallRules({ inbound: [{ port: 'any', proto: 'any', host: 'any' }] }), {
    clock: new ManualClock(),
    localNets: [{ ip: parseIpv4(VPN_IP), mask: 0xffffffff }],
  });
  assert.equal(to(fw, VPN_IP), null);
});

test('local_cidr alone (no host, group or cidr) is a rule for every peer, limited to that local range', () => {
  const fw = () => router({ inbound: [{ port: 'any', proto: 'tcp', local_cidr: '192.168.100.0/25' }] });
  assert.equal(to(fw(), '192.168.100.7', bob), null);
  assert.equal(to(fw(), '192.168.100.200', bob), 'no-rule');
  assert.equal(to(fw(), VPN_IP, bob), 'no-rule');
});

test('each host, group and cidr entry keeps the local_cidr of its own rule', () => {
  const rules: Rule[] = [
    { port: 'any', proto: 'any', host: 'alice', local_cidr: '192.168.100.0/25' },
    { port: 'any', proto: 'any', group: 'laptop', local_cidr: '192.168.100.128/25' },
    { port: 'any', proto: 'any', cidr: '10.1.0.3/32' },
  ];
  const fw = () => router({ inbound: rules });
  assert.equal(to(fw(), '192.168.100.7', alice), null);
  assert.equal(to(fw(), '192.168.100.200', alice), 'no-rule');
  assert.equal(to(fw(), '192.168.100.200', bob), null);
  assert.equal(to(fw(), '192.168.100.7', bob), 'no-rule', "bob's cidr rule has no local_cidr: VPN address only");
  assert.equal(to(fw(), VPN_IP, bob), null);
});

test('two rules for the same host add their local ranges together', () => {
  const rules: Rule[] = [
    { port: 'any', proto: 'any', host: 'alice', local_cidr: '192.168.100.0/25' },
    { port: 'any', proto: 'any', host: 'alice' },
  ];
  assert.equal(to(router({ inbound: rules }), '192.168.100.7'), null);
  assert.equal(to(router({ inbound: rules }), VPN_IP), null);
  assert.equal(to(router({ inbound: rules }), '192.168.100.200'), 'no-rule');
});

test('cidr: any matches every peer, and its local_cidr still applies', () => {
  const fw = () => router({ inbound: [{ port: 'any', proto: 'any', cidr: 'any', local_cidr: '192.168.100.0/24' }] });
  assert.equal(to(fw(), '192.168.100.7', bob), null);
  assert.equal(to(fw(), VPN_IP, bob), 'no-rule');
});

test('a flow admitted under one local_cidr is re-checked after a reload that narrows it', () => {
  const fw = router({ inbound: [{ port: 'any', proto: 'any', host: 'any', local_cidr: 'any' }] });
  assert.equal(to(fw, '192.168.100.7'), null);
  fw.replaceRules(
    parseFirewallRules({ inbound: [{ port: 'any', proto: 'any', host: 'any' }] }, { unsafeNetworks: true }),
  );
  assert.equal(to(fw, '192.168.100.7'), 'no-rule');
});

test('rules without local_cidr on a host with unsafe networks get one warning naming the first rule', () => {
  const rules = parseFirewallRules(
    {
      inbound: [
        { port: 22, proto: 'tcp', host: 'a', local_cidr: 'any' },
        { port: 80, proto: 'tcp', host: 'a' },
        { port: 81, proto: 'tcp', host: 'a' },
      ],
    },
    { unsafeNetworks: true },
  );
  assert.equal(rules.warnings.length, 1);
  assert.match(rules.warnings[0], /^firewall\.inbound\[1\]: 2 inbound rule\(s\) without local_cidr/);
  assert.deepEqual(
    parseFirewallRules({ inbound: [{ port: 80, proto: 'tcp', host: 'a' }] }, { unsafeNetworks: false }).warnings,
    [],
  );
  assert.deepEqual(
    parseFirewallRules(
      { inbound: [{ port: 80, proto: 'tcp', host: 'a' }], default_local_cidr_any: true },
      { unsafeNetworks: true },
    ).warnings,
    [],
  );
});

test('a CIDR containing 0.0.0.0 but not /0 is matched as written, with a warning that Nebula 1.6-1.9 took it as any', () => {
  const rules = parseFirewallRules({ inbound: [{ port: 'any', proto: 'any', cidr: '0.0.0.0/8' }] });
  assert.match(rules.warnings[0], /^firewall\.inbound\[0\]\.cidr: 0\.0\.0\.0\/8 is matched as written/);
});

test('IPv6 cidr and local_cidr (Nebula 1.10+) load without warnings and match no IPv4 packet; the rest of the rule still does', () => {
  const section = {
    inbound: [
      { port: 'any', proto: 'any', cidr: '::/0' },
      { port: 'any', proto: 'any', host: 'bob', local_cidr: 'fd00::/64' },
      { port: 'any', proto: 'any', group: 'remote_client', cidr: 'fd00::/8' },
    ],
  };
  const rules = parseFirewallRules(section, { unsafeNetworks: true });
  assert.deepEqual(
    rules.warnings.filter((w) => /IPv6/.test(w)),
    [],
  );
  // ::/0 is no "any" for IPv4: bob matches nothing (his rule's local range is IPv6), alice only through her group.
  assert.equal(to(router(section), VPN_IP, bob), 'no-rule');
  assert.equal(to(router(section), VPN_IP, alice), null);
});
