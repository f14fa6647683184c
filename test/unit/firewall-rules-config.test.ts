import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallConfigError, parseFirewallRules, type FirewallSection } from '../../pkg/firewall/firewall.js';
import { parsePortSpec } from '../../pkg/firewall/port-spec.js';

function configError(section: FirewallSection): FirewallConfigError {
  try {
    parseFirewallRules(section);
  } catch (err) {
    assert.ok(err instanceof FirewallConfigError, `expected FirewallConfigError, got ${err}`);
    assert.equal(err.code, 'EFIREWALLCONFIG');
    return err;
  }
  assert.fail('expected the section to be rejected');
}

const ok = { proto: 'any', port: 'any', host: 'any' };

test('an absent or empty firewall section has no rules, default timeouts and drop actions', () => {
  for (const section of [undefined, null, {}, { inbound: null, outbound: null }]) {
    const rules = parseFirewallRules(section);
    assert.equal(rules.inbound.rules.length, 0);
    assert.equal(rules.outbound.rules.length, 0);
    assert.deepEqual(rules.conntrack, {
      tcpTimeoutMs: 12 * 60_000,
      udpTimeoutMs: 3 * 60_000,
      defaultTimeoutMs: 10 * 60_000,
      maxConnections: 0,
      maxConnectionsPerHost: 0,
    });
    assert.equal(rules.inboundAction, 'drop');
    assert.equal(rules.outboundAction, 'drop');
  }
});

test('the example config rules parse into the expected records', () => {
  const rules = parseFirewallRules({
    outbound: [{ port: 'any', proto: 'any', host: 'any' }],
    inbound: [
      { port: 'any', proto: 'icmp', host: 'any' },
      { port: 443, proto: 'tcp', groups: ['laptop', 'home'] },
    ],
  });
  assert.equal(rules.outbound.rules.length, 1);
  const [icmp, https] = rules.inbound.rules;
  assert.equal(icmp.proto, 1);
  assert.equal(icmp.startPort, 0);
  assert.deepEqual(
    { proto: https.proto, start: https.startPort, end: https.endPort },
    { proto: 6, start: 443, end: 443 },
  );
  assert.deepEqual(https.groups, ['laptop', 'home']);
  assert.equal(https.where, 'firewall.inbound[1]');
  assert.deepEqual(rules.warnings, []);
});

test('port accepts any, 0, a number, a numeric string, a range and fragment', () => {
  assert.deepEqual(parsePortSpec('any'), { start: 0, end: 0 });
  assert.deepEqual(parsePortSpec('0'), { start: 0, end: 0 });
  assert.deepEqual(parsePortSpec('80'), { start: 80, end: 80 });
  assert.deepEqual(parsePortSpec('200-901'), { start: 200, end: 901 });
  assert.deepEqual(parsePortSpec('200 - 901'), { start: 200, end: 901 });
  assert.deepEqual(parsePortSpec('fragment'), { start: -1, end: -1 });
  const rules = parseFirewallRules({
    inbound: [
      { ...ok, port: 80 },
      { ...ok, port: '81' },
    ],
  });
  assert.deepEqual(
    rules.inbound.rules.map((r) => r.startPort),
    [80, 81],
  );
});

test('a range starting at 0 means any port, as in Nebula', () => {
  assert.deepEqual(parsePortSpec('0-100'), { start: 0, end: 0 });
});

test('an inverted port range is an error naming the rule and field', () => {
  const err = configError({ inbound: [ok, ok, { proto: 'tcp', port: '90-80', host: 'a' }] });
  assert.equal(err.direction, 'inbound');
  assert.equal(err.ruleIndex, 2);
  assert.equal(err.field, 'port');
  assert.match(err.message, /^firewall\.inbound\[2\]\.port: invalid port range "90-80"/);
  assert.deepEqual(err.keyPath, ['firewall', 'inbound', 2, 'port']);
});

test('malformed ports are errors', () => {
  for (const port of ['http', '80-', '-80', '8o', ' 80', '1.5', '80-90-100', '99999999999']) {
    const err = configError({ outbound: [{ proto: 'tcp', port, host: 'a' }] });
    assert.equal(err.field, 'port', port);
    assert.equal(err.direction, 'outbound');
  }
});

test('a missing port (and no code) is an error', () => {
  const err = configError({ inbound: [{ proto: 'tcp', host: 'a' }] });
  assert.equal(err.field, 'port');
  assert.match(err.message, /required/);
});

test('code is parsed like port, and giving both is an error', () => {
  const rules = parseFirewallRules({
    inbound: [
      { proto: 'icmp', code: 'any', host: 'a' },
      { proto: 'tcp', code: 22, host: 'a' },
    ],
  });
  assert.deepEqual(
    rules.inbound.rules.map((r) => r.startPort),
    [0, 22],
  );
  const err = configError({ inbound: [{ proto: 'icmp', code: 0, port: 0, host: 'a' }] });
  assert.equal(err.field, 'code');
});

test('an ICMP rule with a specific port or code is accepted, the port ignored with one warning naming the key (Nebula 1.11)', () => {
  const rules = parseFirewallRules({
    inbound: [
      { proto: 'icmp', code: 8, host: 'a' },
      { proto: 'icmp', port: 'any', host: 'a' },
    ],
  });
  assert.equal(rules.warnings.length, 1);
  assert.match(rules.warnings[0], /^firewall\.inbound\[0\]\.code: ignored/);
  assert.deepEqual(
    rules.inbound.rules.map((r) => [r.startPort, r.endPort]),
    [
      [0, 0],
      [0, 0],
    ],
  );
});

test('an ICMP rule without port or code is accepted (Nebula 1.11); other protocols still need one', () => {
  const rules = parseFirewallRules({ inbound: [{ proto: 'icmp', host: 'a' }] });
  assert.deepEqual(rules.warnings, []);
  assert.equal(rules.inbound.rules[0].startPort, 0);
  assert.equal(configError({ inbound: [{ proto: 'udp', host: 'a' }] }).field, 'port');
});

test('proto must be any, tcp, udp or icmp (case-sensitive) and is required', () => {
  for (const proto of ['TCP', 'gre', '6', undefined, 'constructor']) {
    const err = configError({ inbound: [{ proto, port: 80, host: 'a' }] });
    assert.equal(err.field, 'proto', String(proto));
  }
});

test('a rule needs at least one of host, group, groups, cidr, ca_name, ca_sha', () => {
  const err = configError({ inbound: [{ proto: 'any', port: 'any' }] });
  assert.equal(err.field, '');
  assert.match(err.message, /^firewall\.inbound\[0\]: at least one of/);
  for (const key of ['host', 'group', 'cidr', 'ca_name', 'ca_sha']) {
    const value = key === 'cidr' ? '10.0.0.0/8' : 'x';
    parseFirewallRules({ inbound: [{ proto: 'any', port: 'any', [key]: value }] });
  }
  parseFirewallRules({ inbound: [{ proto: 'any', port: 'any', groups: ['x'] }] });
});

test('group as a one-element list is accepted with a warning; longer lists are errors', () => {
  const rules = parseFirewallRules({ inbound: [{ proto: 'any', port: 'any', group: ['admins'] }] });
  assert.deepEqual(rules.inbound.rules[0].groups, ['admins']);
  assert.equal(rules.warnings.length, 1);
  assert.match(rules.warnings[0], /firewall\.inbound\[0\]\.group/);
  assert.equal(configError({ inbound: [{ proto: 'any', port: 'any', group: ['a', 'b'] }] }).field, 'group');
  assert.equal(configError({ inbound: [{ proto: 'any', port: 'any', group: [] }] }).field, 'group');
});

test('groups accepts a list or a single name; group and groups together are an error', () => {
  const rules = parseFirewallRules({
    inbound: [
      { proto: 'any', port: 'any', groups: ['a', 'b'] },
      { proto: 'any', port: 'any', groups: 'solo' },
    ],
  });
  assert.deepEqual(
    rules.inbound.rules.map((r) => r.groups),
    [['a', 'b'], ['solo']],
  );
  assert.equal(configError({ inbound: [{ proto: 'any', port: 'any', group: 'a', groups: ['b'] }] }).field, 'group');
  const badItem = configError({ inbound: [{ proto: 'any', port: 'any', groups: ['a', 7] }] });
  assert.equal(badItem.field, 'groups[1]');
  assert.deepEqual(badItem.keyPath, ['firewall', 'inbound', 0, 'groups', 1]);
});

test('cidr must be a CIDR (an IPv4 one is stored as its network) or any', () => {
  const rules = parseFirewallRules({ inbound: [{ proto: 'any', port: 'any', cidr: '10.1.2.3/16' }] });
  assert.deepEqual(rules.inbound.rules[0].cidr, { ip: 0x0a010000, mask: 0xffff0000 });
  for (const cidr of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'fd00::', 'fd00::/08', 'ten/8']) {
    assert.equal(configError({ inbound: [{ proto: 'any', port: 'any', cidr }] }).field, 'cidr', cidr);
  }
});

test('a ca_sha that is not a lowercase fingerprint is kept as written, with a warning', () => {
  const rules = parseFirewallRules({ inbound: [{ proto: 'any', port: 'any', ca_sha: 'ABCDEF' }] });
  assert.equal(rules.inbound.rules[0].caSha, 'ABCDEF');
  assert.match(rules.warnings[0], /ca_sha/);
});

test('unknown rule keys are ignored with a warning; a bad local_cidr is an error naming it', () => {
  const rules = parseFirewallRules({ inbound: [{ ...ok, description: 'web' }] });
  assert.match(rules.warnings[0], /firewall\.inbound\[0\]\.description: unknown key/);
  assert.equal(configError({ inbound: [{ ...ok, local_cidr: '10.0.0.0/33' }] }).field, 'local_cidr');
  assert.equal(configError({ inbound: [{ ...ok, local_cidr: 'fd00::/200' }] }).field, 'local_cidr');
  assert.equal(configError({ inbound: [{ ...ok, cidr: 'anything' }] }).field, 'cidr');
});

test('a rule list that is not a list, or a rule that is not a map, is an error', () => {
  const notList = configError({ outbound: { port: 'any' } });
  assert.deepEqual([notList.direction, notList.ruleIndex], ['outbound', -1]);
  assert.match(notList.message, /^firewall\.outbound: /);
  const notMap = configError({ inbound: [ok, 'allow all'] });
  assert.deepEqual([notMap.ruleIndex, notMap.field], [1, '']);
});

test('null or structured values for scalar keys are errors', () => {
  assert.equal(configError({ inbound: [{ proto: 'any', port: 'any', host: null }] }).field, 'host');
  assert.equal(configError({ inbound: [{ proto: 'any', port: [80, 443], host: 'a' }] }).field, 'port');
});

test('conntrack timeouts and max_connections are read in milliseconds and validated', () => {
  const rules = parseFirewallRules({
    conntrack: { tcp_timeout: 1000, udp_timeout: 2000, default_timeout: 3000, max_connections: 10 },
  });
  assert.deepEqual(rules.conntrack, {
    tcpTimeoutMs: 1000,
    udpTimeoutMs: 2000,
    defaultTimeoutMs: 3000,
    maxConnections: 10,
    maxConnectionsPerHost: 1,
  });
  const err = configError({ conntrack: { udp_timeout: -5 } });
  assert.deepEqual([err.direction, err.ruleIndex, err.field], [null, -1, 'conntrack.udp_timeout']);
  assert.match(err.message, /^firewall\.conntrack\.udp_timeout: /);
  assert.deepEqual(err.keyPath, ['firewall', 'conntrack', 'udp_timeout']);
  assert.equal(configError({ conntrack: { max_connections: 1.5 } }).field, 'conntrack.max_connections');
});

test('max_connections_per_host defaults to a tenth of max_connections, none when that is unlimited, and is validated', () => {
  const perHost = (conntrack: NonNullable<FirewallSection['conntrack']>) =>
    parseFirewallRules({ conntrack }).conntrack.maxConnectionsPerHost;
  assert.equal(perHost({ max_connections: 100_000 }), 10_000);
  assert.equal(perHost({ max_connections: 5 }), 1, 'never 0 (no quota) while the table is bounded');
  assert.equal(perHost({}), 0);
  assert.equal(perHost({ max_connections: 100_000, max_connections_per_host: 30 }), 30);
  assert.equal(perHost({ maxConnections: 100_000, maxConnectionsPerHost: 40 }), 40);
  assert.equal(perHost({ maxConnections: 100_000, maxConnectionsPerHost: undefined }), 10_000);
  for (const bad of [-1, 2.5, 'many', true, Infinity]) {
    const err = configError({ conntrack: { max_connections_per_host: bad as number } });
    assert.deepEqual(err.keyPath, ['firewall', 'conntrack', 'max_connections_per_host']);
  }
});

test("the config package's typed firewall section (camelCase keys) is read the same way", () => {
  const rules = parseFirewallRules({
    inbound: [ok],
    outbound: [],
    conntrack: {
      tcpTimeoutMs: 1000,
      udpTimeoutMs: 2000,
      defaultTimeoutMs: 3000,
      maxConnections: 10,
      routineCacheTimeoutMs: 0,
    },
    inboundAction: 'reject',
    outboundAction: 'drop',
  });
  assert.deepEqual(rules.conntrack, {
    tcpTimeoutMs: 1000,
    udpTimeoutMs: 2000,
    defaultTimeoutMs: 3000,
    maxConnections: 10,
    maxConnectionsPerHost: 1,
  });
  assert.deepEqual([rules.inboundAction, rules.outboundAction], ['reject', 'drop']);
  assert.deepEqual(rules.warnings, []);
});

test('inbound_action and outbound_action accept drop and reject only', () => {
  const rules = parseFirewallRules({ inbound_action: 'reject', outbound_action: 'drop' });
  assert.deepEqual([rules.inboundAction, rules.outboundAction], ['reject', 'drop']);
  assert.equal(configError({ outbound_action: 'deny' }).field, 'outbound_action');
});
