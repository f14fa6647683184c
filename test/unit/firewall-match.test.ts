import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules, type FirewallPeer } from '../../pkg/firewall/firewall.js';
import { parseCidr, parseIpv4 } from '../../pkg/ip/ipv4.js';
import { CA_NAME, CA_SHA, ICMP, TCP, UDP, ipv4Packet, peer, type PacketSpec } from './firewall-fixtures.js';
import { formatVpnIp } from '../../pkg/ip/vpn-ip.js';

const LOCAL = '10.1.0.1';
const LOCAL_NETS = [{ ip: parseIpv4(LOCAL), mask: 0xffffffff }, parseCidr('192.168.100.0/24')];
const alice = peer({ ip: '10.1.0.2', name: 'alice', groups: ['laptop', 'home'] });
const bob = peer({ ip: '10.1.0.3', name: 'bob', groups: ['laptop'] });

type Rule = Record<string, unknown>;

function firewall(inbound: Rule[], outbound: Rule[] = []): Firewall {
  return new Firewall(parseFirewallRules({ inbound, outbound }), { clock: new ManualClock(), localNets: LOCAL_NETS });
}

/** The verdict on one packet from `from` to us, judged by a fresh firewall (no conntrack). */
function inbound(rules: Rule[], from: FirewallPeer, spec: Partial<PacketSpec> = {}): string | null {
  const packet = ipv4Packet({ src: ipOf(from), dst: LOCAL, proto: TCP, srcPort: 40000, dstPort: 80, ...spec });
  return firewall(rules).filter(packet, true, from);
}

function outbound(rules: Rule[], to: FirewallPeer, spec: Partial<PacketSpec> = {}): string | null {
  const packet = ipv4Packet({ src: LOCAL, dst: ipOf(to), proto: TCP, srcPort: 40000, dstPort: 80, ...spec });
  return firewall([], rules).filter(packet, false, to);
}

function ipOf(p: FirewallPeer): string {
  return formatVpnIp(p.vpnIp);
}

test('with no rules every packet is dropped for no-rule (default deny)', () => {
  assert.equal(inbound([], alice), 'no-rule');
  assert.equal(outbound([], alice), 'no-rule');
});

test('port any and port 0 allow every destination port', () => {
  for (const port of ['any', 0, '0']) {
    const rules = [{ proto: 'tcp', port, host: 'any' }];
    for (const dstPort of [0, 1, 80, 65535])
      assert.equal(inbound(rules, alice, { dstPort }), null, `${port} ${dstPort}`);
  }
});

test('a single port allows only that destination port, whatever the source port', () => {
  const rules = [{ proto: 'tcp', port: 443, host: 'any' }];
  assert.equal(inbound(rules, alice, { dstPort: 443, srcPort: 1 }), null);
  assert.equal(inbound(rules, alice, { dstPort: 443, srcPort: 65000 }), null);
  assert.equal(inbound(rules, alice, { dstPort: 444, srcPort: 443 }), 'no-rule');
});

test('inbound rules match our (local) port and outbound rules the remote port', () => {
  const rules = [{ proto: 'tcp', port: 22, host: 'any' }];
  assert.equal(inbound(rules, alice, { srcPort: 5000, dstPort: 22 }), null);
  assert.equal(outbound(rules, alice, { srcPort: 5000, dstPort: 22 }), null);
  assert.equal(outbound(rules, alice, { srcPort: 22, dstPort: 5000 }), 'no-rule');
});

test('a port range is inclusive at both ends', () => {
  const rules = [{ proto: 'udp', port: '200-901', host: 'any' }];
  const verdict = (dstPort: number) => inbound(rules, alice, { proto: UDP, dstPort });
  assert.deepEqual([199, 200, 500, 901, 902].map(verdict), ['no-rule', null, null, null, 'no-rule']);
});

test('overlapping ranges and single ports all apply', () => {
  const rules = [
    { proto: 'tcp', port: '100-200', host: 'alice' },
    { proto: 'tcp', port: '150-300', host: 'bob' },
    { proto: 'tcp', port: 175, group: 'nobody' },
  ];
  assert.equal(inbound(rules, alice, { dstPort: 175 }), null);
  assert.equal(inbound(rules, bob, { dstPort: 175 }), null);
  assert.equal(inbound(rules, alice, { dstPort: 250 }), 'no-rule');
  assert.equal(inbound(rules, bob, { dstPort: 120 }), 'no-rule');
});

test('a port above 65535 never matches but a range reaching past it covers the top ports', () => {
  assert.equal(inbound([{ proto: 'tcp', port: '65000-70000', host: 'any' }], alice, { dstPort: 65535 }), null);
  assert.equal(inbound([{ proto: 'tcp', port: 70000, host: 'any' }], alice, { dstPort: 70000 & 0xffff }), 'no-rule');
});

test('port fragment matches non-first fragments only, port any matches them too, specific ports do not', () => {
  const fragment = { proto: UDP, fragOffset: 100 };
  assert.equal(inbound([{ proto: 'udp', port: 'fragment', host: 'any' }], alice, fragment), null);
  assert.equal(
    inbound([{ proto: 'udp', port: 'fragment', host: 'any' }], alice, { proto: UDP, dstPort: 53 }),
    'no-rule',
  );
  assert.equal(inbound([{ proto: 'udp', port: 'any', host: 'any' }], alice, fragment), null);
  assert.equal(inbound([{ proto: 'udp', port: '1-65535', host: 'any' }], alice, fragment), 'no-rule');
});

test('proto restricts the protocol; proto any covers every protocol, even unknown ones', () => {
  assert.equal(inbound([{ proto: 'tcp', port: 'any', host: 'any' }], alice, { proto: UDP }), 'no-rule');
  assert.equal(inbound([{ proto: 'udp', port: 'any', host: 'any' }], alice, { proto: UDP }), null);
  assert.equal(inbound([{ proto: 'icmp', port: 'any', host: 'any' }], alice, { proto: ICMP }), null);
  assert.equal(inbound([{ proto: 'icmp', port: 'any', host: 'any' }], alice, { proto: TCP }), 'no-rule');
  assert.equal(inbound([{ proto: 'tcp', port: 'any', host: 'any' }], alice, { proto: 47 }), 'no-rule');
  assert.equal(inbound([{ proto: 'any', port: 'any', host: 'any' }], alice, { proto: 47 }), null);
});

test('an ICMP rule needs no port and ignores one (Nebula 1.11): it allows every ICMP packet', () => {
  assert.equal(inbound([{ proto: 'icmp', code: 'any', host: 'any' }], alice, { proto: ICMP }), null);
  assert.equal(inbound([{ proto: 'icmp', code: 0, host: 'any' }], alice, { proto: ICMP }), null);
  assert.equal(inbound([{ proto: 'icmp', host: 'any' }], alice, { proto: ICMP, icmpType: 8 }), null);
  assert.equal(inbound([{ proto: 'icmp', code: 8, host: 'any' }], alice, { proto: ICMP, icmpType: 8 }), null);
  assert.equal(inbound([{ proto: 'icmp', port: 443, host: 'any' }], alice, { proto: ICMP, icmpType: 0 }), null);
  assert.equal(inbound([{ proto: 'icmp', host: 'any' }], alice, { proto: TCP, dstPort: 80 }), 'no-rule');
});

test('host matches the certificate name exactly', () => {
  const rules = [{ proto: 'any', port: 'any', host: 'alice' }];
  assert.equal(inbound(rules, alice), null);
  assert.equal(inbound(rules, bob), 'no-rule');
  assert.equal(inbound([{ proto: 'any', port: 'any', host: 'Alice' }], alice), 'no-rule');
});

test('group matches a peer having that group', () => {
  assert.equal(inbound([{ proto: 'any', port: 'any', group: 'home' }], alice), null);
  assert.equal(inbound([{ proto: 'any', port: 'any', group: 'home' }], bob), 'no-rule');
  assert.equal(inbound([{ proto: 'any', port: 'any', group: ['laptop'] }], bob), null);
});

test('groups requires every listed group (AND)', () => {
  const rules = [{ proto: 'tcp', port: 443, groups: ['laptop', 'home'] }];
  assert.equal(inbound(rules, alice, { dstPort: 443 }), null);
  assert.equal(inbound(rules, bob, { dstPort: 443 }), 'no-rule');
});

test('separate rules are OR-ed: either group set suffices', () => {
  const rules = [
    { proto: 'tcp', port: 443, groups: ['laptop', 'server'] },
    { proto: 'tcp', port: 443, groups: ['home'] },
  ];
  assert.equal(inbound(rules, alice, { dstPort: 443 }), null);
  assert.equal(inbound(rules, bob, { dstPort: 443 }), 'no-rule');
});

test('host any makes the rule match everyone, even when groups are also given', () => {
  const rules = [{ proto: 'any', port: 'any', host: 'any', groups: ['nobody-has-this'] }];
  assert.equal(inbound(rules, bob), null);
});

test('a group named any, alone or in a list, matches everyone', () => {
  assert.equal(inbound([{ proto: 'any', port: 'any', group: 'any' }], bob), null);
  assert.equal(inbound([{ proto: 'any', port: 'any', groups: ['home', 'any'] }], bob), null);
});

test('an any rule in a bucket does not hide narrower rules elsewhere', () => {
  const rules = [
    { proto: 'tcp', port: 22, host: 'alice' },
    { proto: 'tcp', port: 80, host: 'any' },
  ];
  assert.equal(inbound(rules, bob, { dstPort: 80 }), null);
  assert.equal(inbound(rules, bob, { dstPort: 22 }), 'no-rule');
  assert.equal(inbound(rules, alice, { dstPort: 22 }), null);
});

test('cidr matches the remote inner address', () => {
  const router = peer({ ip: '10.1.0.9', name: 'router', subnets: ['172.16.0.0/16'] });
  const rules = [{ proto: 'any', port: 'any', cidr: '172.16.5.0/24' }];
  assert.equal(inbound(rules, router, { src: '172.16.5.20' }), null);
  assert.equal(inbound(rules, router, { src: '172.16.6.20' }), 'no-rule');
  assert.equal(outbound(rules, router, { dst: '172.16.5.20' }), null);
});

test('cidr: any and a /0 match everyone; 0.0.0.0/8 is matched as written (Nebula 1.10+)', () => {
  assert.equal(inbound([{ proto: 'any', port: 'any', cidr: '0.0.0.0/0' }], alice), null);
  assert.equal(inbound([{ proto: 'any', port: 'any', cidr: 'any' }], alice), null);
  assert.equal(inbound([{ proto: 'any', port: 'any', cidr: '0.0.0.0/8' }], alice), 'no-rule');
  assert.equal(inbound([{ proto: 'any', port: 'any', cidr: '1.0.0.0/8' }], alice), 'no-rule');
});

test('host, group and cidr within one rule are OR-ed', () => {
  const rules = [{ proto: 'any', port: 'any', host: 'alice', group: 'server', cidr: '10.1.0.3/32' }];
  assert.equal(inbound(rules, alice), null);
  assert.equal(inbound(rules, bob), null, 'bob matches through the cidr');
  assert.equal(inbound(rules, peer({ ip: '10.1.0.4', groups: ['server'] })), null);
  assert.equal(inbound(rules, peer({ ip: '10.1.0.5' })), 'no-rule');
});

test('ca_name restricts to peers signed by a CA of that name', () => {
  const rules = [{ proto: 'any', port: 'any', ca_name: CA_NAME, group: 'laptop' }];
  assert.equal(inbound(rules, alice), null);
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', groups: ['laptop'], caName: 'Other CA' })), 'no-rule');
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', groups: ['laptop'], caName: '' })), 'no-rule');
});

test('ca_sha restricts to peers whose issuer is that fingerprint', () => {
  const rules = [{ proto: 'any', port: 'any', ca_sha: CA_SHA, group: 'laptop' }];
  assert.equal(inbound(rules, alice), null);
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', groups: ['laptop'], issuer: 'b'.repeat(64) })), 'no-rule');
});

test('a CA restriction and a group are AND-ed', () => {
  const rules = [{ proto: 'any', port: 'any', ca_sha: CA_SHA, group: 'home' }];
  assert.equal(inbound(rules, alice), null);
  assert.equal(inbound(rules, bob), 'no-rule', 'right CA, wrong group');
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', groups: ['home'], issuer: 'c'.repeat(64) })), 'no-rule');
});

test('a CA restriction alone matches every peer of that CA', () => {
  assert.equal(inbound([{ proto: 'any', port: 'any', ca_name: CA_NAME }], bob), null);
  assert.equal(inbound([{ proto: 'any', port: 'any', ca_sha: CA_SHA }], bob), null);
  assert.equal(inbound([{ proto: 'any', port: 'any', ca_sha: 'd'.repeat(64) }], bob), 'no-rule');
});

test('ca_sha and ca_name in one rule are OR-ed, as Nebula stores the rule under each', () => {
  const rules = [{ proto: 'any', port: 'any', ca_sha: CA_SHA, ca_name: 'Second CA', host: 'any' }];
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', issuer: CA_SHA, caName: 'Unrelated' })), null);
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', issuer: 'e'.repeat(64), caName: 'Second CA' })), null);
  assert.equal(inbound(rules, peer({ ip: '10.1.0.2', issuer: 'e'.repeat(64), caName: 'Unrelated' })), 'no-rule');
});

test('port, proto, CA and who all have to hold at once', () => {
  const rules = [{ proto: 'tcp', port: '8000-8100', ca_sha: CA_SHA, groups: ['laptop', 'home'] }];
  assert.equal(inbound(rules, alice, { dstPort: 8080 }), null);
  assert.equal(inbound(rules, alice, { dstPort: 8200 }), 'no-rule');
  assert.equal(inbound(rules, alice, { dstPort: 8080, proto: UDP }), 'no-rule');
  assert.equal(inbound(rules, bob, { dstPort: 8080 }), 'no-rule');
});

test('a source address outside the peer certificate is dropped before any rule', () => {
  const allowAll = [{ proto: 'any', port: 'any', host: 'any' }];
  assert.equal(inbound(allowAll, alice, { src: '10.1.0.3' }), 'remote-not-in-cert');
  assert.equal(outbound(allowAll, alice, { dst: '10.1.0.3' }), 'remote-not-in-cert');
});

test('a peer with several IPs or subnets may use any of them as its inner address', () => {
  const allowAll = [{ proto: 'any', port: 'any', host: 'any' }];
  const router = peer({ ip: '10.1.0.9', ips: ['10.2.0.9'], subnets: ['172.16.0.0/16'] });
  for (const src of ['10.1.0.9', '10.2.0.9', '172.16.44.1'])
    assert.equal(inbound(allowAll, router, { src }), null, src);
  assert.equal(inbound(allowAll, router, { src: '172.17.0.1' }), 'remote-not-in-cert');
});

test('a local address that is not ours is dropped; our subnets count as ours', () => {
  const allowAll = [{ proto: 'any', port: 'any', host: 'any', local_cidr: 'any' }];
  assert.equal(inbound(allowAll, alice, { dst: '10.1.0.77' }), 'local-not-ours');
  assert.equal(inbound(allowAll, alice, { dst: '192.168.100.7' }), null);
  assert.equal(outbound(allowAll, alice, { src: '10.1.0.77' }), 'local-not-ours');
});

test('each drop reason is counted', () => {
  const fw = firewall([{ proto: 'tcp', port: 22, host: 'any' }]);
  const send = (spec: Partial<PacketSpec>) =>
    fw.filter(ipv4Packet({ src: '10.1.0.2', dst: LOCAL, proto: TCP, srcPort: 1, dstPort: 80, ...spec }), true, alice);
  send({});
  send({ dstPort: 81 });
  send({ src: '10.9.9.9' });
  send({ dstPort: 22 });
  fw.filter(new Uint8Array(3), true, alice);
  assert.equal(fw.dropCounts.get('no-rule'), 2);
  assert.equal(fw.dropCounts.get('remote-not-in-cert'), 1);
  assert.equal(fw.dropCounts.get('short-packet'), 1);
  assert.equal(fw.dropCounts.get('conntrack-full'), 0);
});
