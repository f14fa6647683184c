// The indexed rule table against the specification read literally: a linear scan over every rule, for random
// rules and packets of both families (IPv6 cidr/local_cidr, ICMPv6 under `proto: icmp`, docs/ipv6.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFirewallRules, type FirewallPeer } from '../../pkg/firewall/firewall.js';
import type { FirewallPacket } from '../../pkg/firewall/packet.js';
import type { Net6 } from '../../pkg/firewall/net6.js';
import type { FirewallRule } from '../../pkg/firewall/rule-parse.js';
import { netContains } from '../../pkg/ip/ipv4.js';
import { parseVpnIp, vpnIpBytes } from '../../pkg/ip/vpn-ip.js';
import { seededRandom } from './firewall-fixtures.js';

/** The address as one 128-bit number: the spec's reading, independent of the words the firewall compares. */
function big6(words: ArrayLike<number>): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(words[i] >>> 0);
  return v;
}

function inNet6(net: Net6, addr: Uint32Array): boolean {
  const shift = BigInt(128 - net.bits);
  return net.bits === 0 || big6(net.words) >> shift === big6(addr) >> shift;
}

/**
 * Reference §8: port AND proto AND (no CA, or ca_sha OR ca_name) AND (any OR groups OR host OR cidr) AND local_cidr.
 * A CIDR holds addresses of its own family only; `any` both; `proto: icmp` is ICMP in either family and ICMPv6.
 */
function naiveMatches(
  rules: readonly FirewallRule[],
  p: FirewallPacket,
  incoming: boolean,
  peer: FirewallPeer,
): boolean {
  const v6 = p.ipv6 === true;
  // ICMPv6's remotePort is its echo identifier: conntrack's, never a rule's.
  const port = v6 && p.protocol === 58 ? 0 : incoming ? p.localPort : p.remotePort;
  return rules.some((rule) => {
    const icmp = rule.proto === 1 && (p.protocol === 1 || (v6 && p.protocol === 58));
    if (rule.proto !== 0 && rule.proto !== p.protocol && !icmp) return false;
    const portOk =
      rule.startPort === 0 ||
      (p.fragment ? rule.startPort === -1 : rule.startPort > 0 && port >= rule.startPort && port <= rule.endPort);
    if (!portOk) return false;
    const caOk =
      (rule.caSha === '' && rule.caName === '') ||
      (rule.caSha !== '' && rule.caSha === peer.issuer) ||
      (rule.caName !== '' && rule.caName === peer.caName);
    if (!caOk) return false;
    const isAny =
      (rule.host === '' && rule.groups.length === 0 && rule.cidr === null && rule.cidr6 === null) ||
      rule.host === 'any' ||
      rule.groups.includes('any') ||
      rule.cidrAny;
    const who =
      isAny ||
      (rule.groups.length > 0 && rule.groups.every((g) => peer.groups.has(g))) ||
      (rule.host !== '' && rule.host === peer.name) ||
      (!v6 && rule.cidr !== null && netContains(rule.cidr, p.remoteIp)) ||
      (v6 && rule.cidr6 !== null && inNet6(rule.cidr6, p.remote6!));
    const local = rule.localCidr;
    const localOk =
      local.kind === 'any' ||
      local.kind === 'default' ||
      (local.kind === 'net' && !v6 && netContains(local.net, p.localIp)) ||
      (local.kind === 'net6' && v6 && inNet6(local.net, p.local6!));
    return who && localOk;
  });
}

/** What random rules and packets are drawn from: small universes make matches common, large ones rare. */
interface Universe {
  ports: number;
  groups: string[];
  hosts: string[];
  caNames: string[];
  caShas: string[];
  cidrs: string[];
  remoteIps: number[];
  cidrs6: string[];
  remoteIps6: string[];
  /** Chance of each "matches everyone" spelling (port any, host any, group any, cidr any, 0.0.0.0/0, ::/0). */
  anyChance: number;
}

/** local_cidr values, and the local addresses packets come from: each family has one inside and one outside most. */
const LOCAL_CIDRS = [
  '10.1.0.0/16',
  '10.1.0.1/32',
  '10.2.0.0/16',
  'fd00::/64',
  'fd00::1/128',
  'fd01::/64',
  'any',
  '0.0.0.0/0',
  '::/0',
];
const LOCAL_IPS = [0x0a010001, 0x0a020001];
const LOCAL_IPS6 = ['fd00::1', 'fd01::1'];

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const SMALL: Universe = {
  ports: 30,
  groups: names('g', 5),
  hosts: names('h', 4),
  caNames: names('ca', 2),
  caShas: names('s', 3),
  cidrs: ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.2.0.0/15', '192.168.0.0/16'],
  remoteIps: [0x0a010203, 0x0a010204, 0x0a010300, 0x0a020001, 0x0a030001, 0xc0a80101, 0x08080808],
  cidrs6: ['fd00::/16', 'fd00:1::/32', 'fd00:1:2::/48', 'fd00:1:2::3/128', 'fd00:1:2:3:8000::/65', '2001:db8::/32'],
  remoteIps6: [
    'fd00:1:2::3',
    'fd00:1:2::4',
    'fd00:1:3::1',
    'fd00:2::1',
    'fd00:1:2:3:8000::1',
    'fd00:1:2:3:7fff::1',
    '2001:db8::9',
    'fe80::1',
  ],
  anyChance: 0.03,
};

const LARGE: Universe = {
  ports: 4000,
  groups: names('g', 40),
  hosts: names('h', 400),
  caNames: names('ca', 20),
  caShas: names('s', 20),
  cidrs: Array.from({ length: 200 }, (_, i) => `10.${i % 4}.${i}.0/${24 + (i % 9)}`),
  remoteIps: Array.from({ length: 300 }, (_, i) => (0x0a000000 + ((i % 4) << 16) + ((i % 200) << 8) + (i % 7)) >>> 0),
  cidrs6: Array.from({ length: 200 }, (_, i) => `fd00:${i % 4}:${i.toString(16)}::/${48 + (i % 81)}`),
  remoteIps6: Array.from({ length: 300 }, (_, i) => `fd00:${i % 4}:${(i % 200).toString(16)}::${(i % 7).toString(16)}`),
  anyChance: 0.0003,
};

type Random = ReturnType<typeof makeRandom>;

function makeRandom(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const chance = (p: number) => random() < p;
  return { random, pick, chance };
}

function randomRule(r: Random, u: Universe): Record<string, unknown> {
  const rule: Record<string, unknown> = { proto: r.pick(['any', 'tcp', 'udp', 'icmp', 'tcp', 'udp']) };
  const port = () => Math.floor(r.random() * u.ports);
  const kind = r.random();
  if (kind < u.anyChance * 3) rule.port = 'any';
  else if (kind < 0.05) rule.port = 'fragment';
  else if (kind < 0.5) rule.port = port() || 1;
  else {
    const a = port() || 1;
    rule.port = `${a}-${a + Math.floor(r.random() * u.ports * 0.4)}`;
  }
  if (r.chance(0.05)) {
    rule.code = rule.port;
    delete rule.port;
  }
  if (r.chance(0.25)) rule.host = r.chance(u.anyChance) ? 'any' : r.pick(u.hosts);
  if (r.chance(0.3)) rule.group = r.chance(u.anyChance) ? 'any' : r.pick(u.groups);
  // eslint-disable-next-line no-dupe-else-if -- a second, independent random draw, not the same condition
  else if (r.chance(0.3)) {
    rule.groups = Array.from({ length: 1 + Math.floor(r.random() * 3) }, () => r.pick(u.groups));
    if (r.chance(u.anyChance)) (rule.groups as string[]).push('any');
  }
  if (r.chance(0.2)) {
    const anyCidr = r.chance(u.anyChance);
    if (r.chance(0.5)) rule.cidr = anyCidr ? r.pick(['0.0.0.0/0', 'any']) : r.pick(u.cidrs);
    else rule.cidr = anyCidr ? r.pick(['::/0', 'any']) : r.pick(u.cidrs6);
  }
  if (r.chance(0.15)) rule.local_cidr = r.pick(LOCAL_CIDRS);
  if (r.chance(0.2)) rule.ca_name = r.pick(u.caNames);
  if (r.chance(0.2)) rule.ca_sha = r.pick(u.caShas);
  const hasWho = ['host', 'group', 'groups', 'cidr', 'ca_name', 'ca_sha'].some((k) => k in rule);
  if (!hasWho) rule.host = r.pick(u.hosts);
  return rule;
}

function words6(text: string): Uint32Array {
  const b = vpnIpBytes(parseVpnIp(text));
  return Uint32Array.from([0, 4, 8, 12], (i) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0);
}

function randomCase(r: Random, u: Universe): { p: FirewallPacket; peer: FirewallPeer } {
  const v6 = r.chance(0.5);
  const remoteIp = r.pick(u.remoteIps);
  const remote6 = r.pick(u.remoteIps6);
  const p: FirewallPacket = {
    localIp: v6 ? 0 : r.pick(LOCAL_IPS),
    remoteIp: v6 ? 0 : remoteIp,
    localPort: Math.floor(r.random() * u.ports),
    remotePort: Math.floor(r.random() * u.ports),
    protocol: v6 ? r.pick([58, 6, 17, 6, 17, 47, 1]) : r.pick([1, 6, 17, 6, 17, 47, 58]),
    fragment: r.chance(0.1),
    ipv6: v6,
    local6: v6 ? words6(r.pick(LOCAL_IPS6)) : new Uint32Array(4),
    remote6: v6 ? words6(remote6) : new Uint32Array(4),
  };
  if ((p.protocol === 1 && !v6) || p.fragment) p.localPort = p.remotePort = 0;
  // ICMPv6 as the parser reads it: no local port, the echo identifier (any number) as the remote port.
  if (p.protocol === 58 && v6 && !p.fragment) p.localPort = 0;
  const peer: FirewallPeer = {
    vpnIp: v6 ? remote6 : remoteIp,
    name: r.pick([...u.hosts, 'stranger']),
    groups: new Set(u.groups.filter(() => r.chance(Math.min(0.35, 4 / u.groups.length)))),
    issuer: r.pick([...u.caShas, 'unknown']),
    caName: r.pick([...u.caNames, '']),
    allowedNets: [{ ip: remoteIp, mask: 0xffffffff }],
    singleIp: true,
    allowedNets6: [],
  };
  return { p, peer };
}

function compare(
  seed: number,
  u: Universe,
  ruleCount: number,
  packetCount: number,
): { allowed: number; denied: number; allowed6: number } {
  const r = makeRandom(seed);
  const raw = { inbound: [] as unknown[], outbound: [] as unknown[] };
  for (let i = 0; i < ruleCount; i++) (r.chance(0.5) ? raw.inbound : raw.outbound).push(randomRule(r, u));
  const rules = parseFirewallRules(raw);
  let allowed = 0;
  let denied = 0;
  let allowed6 = 0;
  for (let i = 0; i < packetCount; i++) {
    const { p, peer } = randomCase(r, u);
    for (const incoming of [true, false]) {
      const table = incoming ? rules.inbound : rules.outbound;
      const expected = naiveMatches(table.rules, p, incoming, peer);
      const actual = table.matches(p, incoming, peer);
      if (actual !== expected) {
        assert.fail(
          `seed ${seed}, ${incoming ? 'inbound' : 'outbound'}: index says ${actual}, spec says ${expected}\n` +
            `packet ${JSON.stringify({ ...p, local6: [...p.local6!], remote6: [...p.remote6!] })}\npeer ${JSON.stringify({ ...peer, groups: [...peer.groups] })}`,
        );
      }
      if (expected) allowed++;
      else denied++;
      if (expected && p.ipv6) allowed6++;
    }
  }
  return { allowed, denied, allowed6 };
}

test('the rule index decides exactly as a linear scan over small random rule sets, IPv4 and IPv6 packets', () => {
  let allowed = 0;
  let denied = 0;
  let allowed6 = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const result = compare(seed, SMALL, 1 + (seed % 25), 200);
    allowed += result.allowed;
    denied += result.denied;
    allowed6 += result.allowed6;
  }
  // Both outcomes must be common, for both families, or the comparison proves little.
  assert.ok(
    allowed > 10_000 && denied > 10_000 && allowed6 > 4000,
    `allowed ${allowed} (IPv6 ${allowed6}), denied ${denied}`,
  );
});

test('the rule index decides exactly as a linear scan over thousands of random rules', () => {
  for (const seed of [1001, 1002, 1003]) {
    const { allowed, denied, allowed6 } = compare(seed, LARGE, 3000, 5000);
    assert.ok(
      allowed > 500 && denied > 500 && allowed6 > 200,
      `allowed ${allowed} (IPv6 ${allowed6}), denied ${denied}`,
    );
  }
});
