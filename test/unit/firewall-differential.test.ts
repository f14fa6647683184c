// The indexed rule table against the specification read literally: a linear scan over every rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFirewallRules, type FirewallPeer } from '../../pkg/firewall/firewall.js';
import type { FirewallPacket } from '../../pkg/firewall/packet.js';
import type { FirewallRule } from '../../pkg/firewall/rule-parse.js';
import { netContains } from '../../pkg/ip/ipv4.js';
import { seededRandom } from './firewall-fixtures.js';

/** Reference §8: port AND proto AND (no CA, or ca_sha OR ca_name) AND (any OR groups OR host OR cidr). */
function naiveMatches(rules: readonly FirewallRule[], p: FirewallPacket, incoming: boolean, peer: FirewallPeer): boolean {
  const port = incoming ? p.localPort : p.remotePort;
  return rules.some((rule) => {
    if (rule.proto !== 0 && rule.proto !== p.protocol) return false;
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
      (rule.host === '' && rule.groups.length === 0 && rule.cidr === null) ||
      rule.host === 'any' ||
      rule.groups.includes('any') ||
      (rule.cidr !== null && (rule.cidr.ip & rule.cidr.mask) === 0);
    return (
      isAny ||
      (rule.groups.length > 0 && rule.groups.every((g) => peer.groups.has(g))) ||
      (rule.host !== '' && rule.host === peer.name) ||
      (rule.cidr !== null && netContains(rule.cidr, p.remoteIp))
    );
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
  /** Chance of each "matches everyone" spelling (port any, host any, group any, 0.0.0.0/0). */
  anyChance: number;
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const SMALL: Universe = {
  ports: 30,
  groups: names('g', 5),
  hosts: names('h', 4),
  caNames: names('ca', 2),
  caShas: names('s', 3),
  cidrs: ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.2.0.0/15', '192.168.0.0/16'],
  remoteIps: [0x0a010203, 0x0a010204, 0x0a010300, 0x0a020001, 0x0a030001, 0xc0a80101, 0x08080808],
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
  else if (r.chance(0.3)) {
    rule.groups = Array.from({ length: 1 + Math.floor(r.random() * 3) }, () => r.pick(u.groups));
    if (r.chance(u.anyChance)) (rule.groups as string[]).push('any');
  }
  if (r.chance(0.2)) rule.cidr = r.chance(u.anyChance) ? '0.0.0.0/0' : r.pick(u.cidrs);
  if (r.chance(0.2)) rule.ca_name = r.pick(u.caNames);
  if (r.chance(0.2)) rule.ca_sha = r.pick(u.caShas);
  const hasWho = ['host', 'group', 'groups', 'cidr', 'ca_name', 'ca_sha'].some((k) => k in rule);
  if (!hasWho) rule.host = r.pick(u.hosts);
  return rule;
}

function randomCase(r: Random, u: Universe): { p: FirewallPacket; peer: FirewallPeer } {
  const remoteIp = r.pick(u.remoteIps);
  const p: FirewallPacket = {
    localIp: 0x0a010001,
    remoteIp,
    localPort: Math.floor(r.random() * u.ports),
    remotePort: Math.floor(r.random() * u.ports),
    protocol: r.pick([1, 6, 17, 6, 17, 47]),
    fragment: r.chance(0.1),
  };
  if (p.protocol === 1 || p.fragment) p.localPort = p.remotePort = 0;
  const peer: FirewallPeer = {
    vpnIp: remoteIp,
    name: r.pick([...u.hosts, 'stranger']),
    groups: new Set(u.groups.filter(() => r.chance(Math.min(0.35, 4 / u.groups.length)))),
    issuer: r.pick([...u.caShas, 'unknown']),
    caName: r.pick([...u.caNames, '']),
    allowedNets: [{ ip: remoteIp, mask: 0xffffffff }],
    singleIp: true,
  };
  return { p, peer };
}

function compare(seed: number, u: Universe, ruleCount: number, packetCount: number): { allowed: number; denied: number } {
  const r = makeRandom(seed);
  const raw = { inbound: [] as unknown[], outbound: [] as unknown[] };
  for (let i = 0; i < ruleCount; i++) (r.chance(0.5) ? raw.inbound : raw.outbound).push(randomRule(r, u));
  const rules = parseFirewallRules(raw);
  let allowed = 0;
  let denied = 0;
  for (let i = 0; i < packetCount; i++) {
    const { p, peer } = randomCase(r, u);
    for (const incoming of [true, false]) {
      const table = incoming ? rules.inbound : rules.outbound;
      const expected = naiveMatches(table.rules, p, incoming, peer);
      const actual = table.matches(p, incoming, peer);
      if (actual !== expected) {
        assert.fail(`seed ${seed}, ${incoming ? 'inbound' : 'outbound'}: index says ${actual}, spec says ${expected}\n` +
          `packet ${JSON.stringify(p)}\npeer ${JSON.stringify({ ...peer, groups: [...peer.groups] })}`);
      }
      if (expected) allowed++;
      else denied++;
    }
  }
  return { allowed, denied };
}

test('the rule index decides exactly as a linear scan over small random rule sets', () => {
  let allowed = 0;
  let denied = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const result = compare(seed, SMALL, 1 + (seed % 25), 200);
    allowed += result.allowed;
    denied += result.denied;
  }
  // Both outcomes must be common, or the comparison proves little.
  assert.ok(allowed > 10_000 && denied > 10_000, `allowed ${allowed}, denied ${denied}`);
});

test('the rule index decides exactly as a linear scan over thousands of random rules', () => {
  for (const seed of [1001, 1002, 1003]) {
    const { allowed, denied } = compare(seed, LARGE, 3000, 5000);
    assert.ok(allowed > 500 && denied > 500, `allowed ${allowed}, denied ${denied}`);
  }
});
