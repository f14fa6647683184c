import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../pkg/config/index.js';
import type { MeshConfig } from '../../pkg/config/index.js';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules } from '../../pkg/firewall/firewall.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { UDP, ipv4Packet, peer } from './firewall-fixtures.js';
import { configDir, PKI_YAML } from './helpers/config-dir.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(REPO, 'test/fixtures/config');
const EXAMPLES = join(REPO, 'examples');

test("a config holding only pki gets Nebula's code default for every other key (1.6.1's, or the newest release's where they differ)", (t) => {
  const dir = configDir(t, { 'config.yml': PKI_YAML });
  const loaded = loadConfig(join(dir, 'config.yml'));
  const expected: MeshConfig = {
    pki: {
      ca: 'ca.crt',
      cert: 'host.crt',
      key: 'host.key',
      blocklist: [],
      disconnectInvalid: true,
      initiatingVersion: undefined,
    },
    staticHostMap: new Map(),
    lighthouse: {
      amLighthouse: false,
      serveDns: false,
      dns: { host: '', port: 53 },
      interval: 10,
      hosts: [],
      remoteAllowList: undefined,
      remoteAllowRanges: undefined,
      localAllowList: undefined,
      advertiseAddrs: [],
      calculatedRemotes: [],
    },
    listen: {
      host: '0.0.0.0',
      port: 0,
      batch: 64,
      readBuffer: undefined,
      writeBuffer: undefined,
      sendRecvError: 'always',
      acceptRecvError: 'always',
      soMark: 0,
      gro: true, // mesh-only (docs/ipv6.md "The underlay socket")
    },
    routines: 1,
    punchy: { punch: false, respond: false, delayMs: 1000, respondDelayMs: 5000, targetAllRemotes: false },
    cipher: 'aes',
    preferredRanges: [],
    relay: { relays: [], amRelay: false, useRelays: true },
    tun: {
      disabled: false,
      dev: undefined,
      dropLocalBroadcast: false,
      dropMulticast: false,
      txQueue: 500,
      mtu: 1300,
      routes: [],
      unsafeRoutes: [],
      udpOffload: true, // mesh-only (docs/ipv6.md "Offloads")
      useSystemRouteTable: false,
      useSystemRouteTableBufferSize: 0,
    },
    logging: { level: 'info', format: 'text', disableTimestamp: false, timestampFormat: '' },
    stats: {
      type: undefined,
      intervalMs: undefined,
      prefix: 'nebula',
      protocol: 'tcp',
      host: '',
      listen: '',
      path: '',
      namespace: '',
      subsystem: '',
      messageMetrics: false,
      lighthouseMetrics: false,
    },
    sshd: {},
    handshakes: { tryIntervalMs: 100, retries: 10, triggerBuffer: 64 },
    firewall: {
      conntrack: {
        tcpTimeoutMs: 720_000,
        udpTimeoutMs: 180_000,
        defaultTimeoutMs: 600_000,
        maxConnections: 100_000,
        maxConnectionsPerHost: undefined,
        routineCacheTimeoutMs: 0,
      },
      inbound: [],
      outbound: [],
      inboundAction: 'drop',
      outboundAction: 'drop',
      defaultLocalCidrAny: false,
    },
    timers: { connectionAliveIntervalMs: 5000, pendingDeletionIntervalMs: 10_000 },
    control: { socket: undefined },
    tcp: { listen: true, port: 0, fallback: true },
    portmap: { enabled: true, lifetimeSec: 7200 },
    later: {
      staticMapCadenceMs: undefined,
      staticMapNetwork: undefined,
      staticMapLookupTimeoutMs: undefined,
      tunnelsDropInactive: undefined,
      tunnelsInactivityTimeoutMs: undefined,
      requeryWaitMs: undefined,
      queryBuffer: undefined,
    },
  };
  assert.deepEqual(loaded.config, expected);
  assert.deepEqual(loaded.warnings, []);
  assert.equal(loaded.baseDir, dir);
});

for (const name of ['config.yml', 'lighthouse.yml', 'node.yml']) {
  test(`examples/${name} loads with no errors and no warnings`, () => {
    const loaded = loadConfig(join(EXAMPLES, name));
    assert.deepEqual(loaded.warnings, []);
  });
}

test('the reference example sets the values its comments describe', () => {
  const { config } = loadConfig(join(EXAMPLES, 'config.yml'));
  assert.equal(config.lighthouse.interval, 60);
  assert.equal(config.listen.port, 4242);
  assert.equal(config.punchy.punch, true);
  assert.deepEqual(config.lighthouse.hosts, ['192.168.100.1']);
  assert.deepEqual(config.staticHostMap.get('192.168.100.1'), ['198.51.100.10:4242', '[2001:db8::10]:4242']);
  assert.equal(config.firewall.inbound.length, 2);
  assert.equal(config.firewall.outbound.length, 1);
});

test('every key of the every-key fixture lands in the typed config', () => {
  const { config, warnings } = loadConfig(join(FIXTURES, 'every-key.yml'));
  // The fixture sets inbound_action: reject, outbound_action: drop, whose meaning Nebula 1.11 swapped.
  assert.deepEqual(
    warnings.filter((w) => !w.includes('deprecated')).map((w) => w.replace(/^.*?: (firewall\.\w+):.*$/, '$1')),
    ['firewall.inbound_action'],
  );
  assert.deepEqual(config.pki, {
    ca: 'ca.crt',
    cert: 'host.crt',
    key: 'host.key',
    blocklist: ['aaaa'],
    disconnectInvalid: true,
    initiatingVersion: undefined,
  });
  assert.deepEqual(
    config.staticHostMap,
    new Map([
      ['192.168.100.1', ['198.51.100.10:4242', '[2001:db8::10]:4243', 'lighthouse.example.net:4244']],
      ['192.168.100.2', ['198.51.100.11:4242']],
    ]),
  );
  assert.deepEqual(config.lighthouse, {
    amLighthouse: false,
    serveDns: true,
    dns: { host: '127.0.0.1', port: 5353 },
    interval: 60,
    hosts: ['192.168.100.1'],
    remoteAllowList: new Map([
      ['10.0.0.0/8', false],
      ['0.0.0.0/0', true],
      ['10.42.0.0/16', true],
      ['fd00::/8', false],
    ]),
    remoteAllowRanges: new Map([['192.168.100.0/28', new Map([['192.168.0.0/16', true]])]]),
    localAllowList: {
      cidrs: new Map([['10.0.0.0/8', true]]),
      interfaces: new Map([
        ['docker.*', false],
        ['veth.*', false],
      ]),
    },
    advertiseAddrs: ['203.0.113.7:0', '[2001:db8::7]:4242'],
    calculatedRemotes: [],
  });
  assert.deepEqual(config.listen, {
    host: '[::]',
    port: 4242,
    batch: 32,
    readBuffer: 1048576,
    writeBuffer: 2097152,
    sendRecvError: 'private',
    acceptRecvError: 'always',
    soMark: 0,
    gro: false,
  });
  assert.equal(config.routines, 2);
  assert.deepEqual(config.punchy, {
    punch: true,
    respond: true,
    delayMs: 250,
    respondDelayMs: 5000,
    targetAllRemotes: false,
  });
  assert.equal(config.cipher, 'chachapoly');
  assert.deepEqual(config.preferredRanges, ['192.168.1.0/24', 'fd00:1::/64', '172.16.0.0/24']);
  assert.deepEqual(config.relay, { relays: ['192.168.100.9'], amRelay: false, useRelays: false });
  assert.deepEqual(config.tun, {
    disabled: true,
    dev: 'mesh9',
    dropLocalBroadcast: true,
    dropMulticast: true,
    txQueue: 1000,
    mtu: 1400,
    routes: [{ mtu: 8800, route: '192.168.100.128/25' }],
    unsafeRoutes: [
      {
        route: '172.16.1.0/24',
        via: [{ gateway: '192.168.100.99', weight: 1 }],
        mtu: 1300,
        metric: 100,
        install: true,
      },
      {
        route: '172.16.2.0/24',
        via: [{ gateway: '192.168.100.98', weight: 1 }],
        mtu: undefined,
        metric: undefined,
        install: true,
      },
    ],
    udpOffload: false,
    useSystemRouteTable: false,
    useSystemRouteTableBufferSize: 0,
  });
  assert.deepEqual(config.logging, {
    level: 'debug',
    format: 'json',
    disableTimestamp: true,
    timestampFormat: '2006-01-02T15:04:05Z07:00',
  });
  assert.deepEqual(config.stats, {
    type: 'prometheus',
    intervalMs: 30_000,
    prefix: 'meshpfx',
    protocol: 'tcp6',
    host: '127.0.0.1:2003',
    listen: '127.0.0.1:8080',
    path: '/metrics',
    namespace: 'mesh',
    subsystem: 'node',
    messageMetrics: true,
    lighthouseMetrics: true,
  });
  assert.equal(config.sshd.listen, '127.0.0.1:2222');
  assert.deepEqual(config.sshd.authorized_users, [{ user: 'admin', keys: ['ssh-ed25519 AAAA admin'] }]);
  assert.deepEqual(config.handshakes, { tryIntervalMs: 250, retries: 20, triggerBuffer: 128 });
  assert.deepEqual(config.firewall.conntrack, {
    tcpTimeoutMs: 5_400_000,
    udpTimeoutMs: 90_000,
    defaultTimeoutMs: 300_000,
    maxConnections: 5000,
    maxConnectionsPerHost: 250,
    routineCacheTimeoutMs: 2000,
  });
  assert.equal(config.firewall.inboundAction, 'reject');
  assert.equal(config.firewall.outboundAction, 'drop');
  assert.deepEqual(config.firewall.inbound, [{ port: 443, proto: 'tcp', groups: ['laptop', 'home'] }]);
  assert.deepEqual(config.timers, { connectionAliveIntervalMs: 7000, pendingDeletionIntervalMs: 20_000 });
  assert.deepEqual(config.control, { socket: '/run/mesh/test.sock' });
});

test('a directory merges its yml/yaml files (subdirectories too) in path order, as Nebula does', () => {
  const dir = join(FIXTURES, 'merge');
  const loaded = loadConfig(dir);
  assert.deepEqual(loaded.files, [
    join(dir, '10-base.yml'),
    join(dir, '20-override.yml'),
    join(dir, 'sub/30-more.yaml'),
  ]);
  const { config } = loaded;
  // Scalars: the later file wins.
  assert.equal(config.listen.port, 5000);
  assert.equal(config.logging.level, 'debug');
  // Maps merge key by key: punchy.delay survives from the first file.
  assert.equal(config.punchy.delayMs, 2000);
  // Lists are joined, the later file's entries first.
  assert.deepEqual(config.firewall.inbound, [
    { port: 443, proto: 'tcp', group: 'web' },
    { port: 'any', proto: 'icmp', host: 'any' },
  ]);
  assert.deepEqual(config.firewall.outbound, [{ port: 'any', proto: 'any', host: 'any' }]);
  assert.deepEqual(config.staticHostMap.get('192.168.100.1'), ['198.51.100.20:4242', '198.51.100.10:4242']);
  assert.equal(loaded.baseDir, dir);
});

test('a later false replaces an earlier true when merging (Nebula 1.6.1 would keep the true)', () => {
  const { config } = loadConfig(join(FIXTURES, 'merge'));
  assert.equal(config.punchy.punch, false);
});

test('locate names the file and line each merged key was written at', () => {
  const dir = join(FIXTURES, 'merge');
  const { locate } = loadConfig(dir);
  assert.deepEqual(locate(['firewall', 'inbound', 0]), { file: join(dir, '20-override.yml'), line: 9 });
  assert.deepEqual(locate(['firewall', 'inbound', 1]), { file: join(dir, '10-base.yml'), line: 16 });
  assert.deepEqual(locate(['firewall', 'inbound', 1, 'proto']), { file: join(dir, '10-base.yml'), line: 17 });
  assert.deepEqual(locate(['firewall', 'outbound', 0]), { file: join(dir, 'sub/30-more.yaml'), line: 4 });
  assert.deepEqual(locate(['punchy', 'delay']), { file: join(dir, '10-base.yml'), line: 9 });
  assert.deepEqual(locate(['static_host_map', '192.168.100.1', 1]), { file: join(dir, '10-base.yml'), line: 13 });
});

test('locate falls back to the nearest written ancestor, and gives undefined for a key never written', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}tun:\n  mtu: 1300\n` });
  const { locate } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(locate(['tun', 'dev']), { file: join(dir, 'c.yml'), line: 5 });
  assert.deepEqual(locate(['pki', 'key']), { file: join(dir, 'c.yml'), line: 4 });
  assert.equal(locate(['listen', 'port']), undefined);
});

test('a file path is loaded whatever its extension', (t) => {
  const dir = configDir(t, { 'mesh.conf': `${PKI_YAML}cipher: chachapoly\n` });
  assert.equal(loadConfig(join(dir, 'mesh.conf')).config.cipher, 'chachapoly');
});

test('an unknown key is a warning naming file:line and the key, not an error', (t) => {
  const dir = configDir(t, {
    'c.yml': `${PKI_YAML}listen:\n  port: 4242\n  prot: 1\nlighthose:\n  hosts: []\ntun:\n  unsafe_routes:\n    - route: 172.16.0.0/24\n      via: 10.0.0.1\n      metrc: 5\n`,
  });
  const { warnings, config } = loadConfig(join(dir, 'c.yml'));
  const file = join(dir, 'c.yml');
  assert.deepEqual(warnings.sort(), [
    `${file}:14: tun.unsafe_routes[0].metrc: unknown key (ignored)`,
    `${file}:7: listen.prot: unknown key (ignored)`,
    `${file}:8: lighthose: unknown key (ignored)`,
  ]);
  assert.equal(config.listen.port, 4242);
});

test('the contents of sshd and firewall rules are kept raw without unknown-key warnings', (t) => {
  const dir = configDir(t, {
    'c.yml': `${PKI_YAML}sshd:\n  enabled: true\n  whatever: 1\nfirewall:\n  inbound:\n    - port: any\n      proto: any\n      frobnicate: yes\n`,
  });
  const { warnings, config } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.sshd, { enabled: true, whatever: 1 });
  assert.deepEqual(config.firewall.inbound, [{ port: 'any', proto: 'any', frobnicate: 'yes' }]);
});

test('deprecated pki.blacklist is read into the blocklist, after pki.blocklist, with a warning', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}  blocklist: [aa, bb]\n  blacklist: [bb, cc]\n` });
  const { config, warnings } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(config.pki.blocklist, ['aa', 'bb', 'cc']);
  assert.match(warnings.join('\n'), /c\.yml:6: pki\.blacklist: deprecated/);
});

test('deprecated local_range joins preferred_ranges once, with a warning', (t) => {
  const dir = configDir(t, {
    'c.yml': `${PKI_YAML}preferred_ranges: ["10.0.0.0/8", "192.168.0.0/16"]\nlocal_range: 192.168.0.0/16\n`,
  });
  const { config, warnings } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(config.preferredRanges, ['10.0.0.0/8', '192.168.0.0/16']);
  assert.match(warnings.join('\n'), /local_range: deprecated/);

  const only = configDir(t, { 'c.yml': `${PKI_YAML}local_range: "172.16.0.0/24"\n` });
  assert.deepEqual(loadConfig(join(only, 'c.yml')).config.preferredRanges, ['172.16.0.0/24']);
});

test('top-level punchy: true and punch_back: true stand for punchy.punch and punchy.respond', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}punchy: true\npunch_back: yes\n` });
  const { config, warnings } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(config.punchy, {
    punch: true,
    respond: true,
    delayMs: 1000,
    respondDelayMs: 5000,
    targetAllRemotes: false,
  });
  assert.equal(warnings.filter((w) => w.includes('deprecated')).length, 2);
});

test('punchy.respond wins over the deprecated punch_back when both are set', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}punchy:\n  respond: false\npunch_back: true\n` });
  assert.equal(loadConfig(join(dir, 'c.yml')).config.punchy.respond, false);
});

test('deprecated tun.routines and listen.routines are used only when routines is absent', (t) => {
  const old = configDir(t, { 'c.yml': `${PKI_YAML}tun:\n  routines: 2\nlisten:\n  routines: 4\n` });
  const loaded = loadConfig(join(old, 'c.yml'));
  assert.equal(loaded.config.routines, 4);
  assert.equal(loaded.warnings.filter((w) => w.includes('deprecated, use routines')).length, 2);

  const both = configDir(t, { 'c.yml': `${PKI_YAML}routines: 3\ntun:\n  routines: 2\n` });
  assert.equal(loadConfig(join(both, 'c.yml')).config.routines, 3);
});

test('routine_cache_timeout defaults to 1s with several routines and to 0 with one', (t) => {
  const many = configDir(t, { 'c.yml': `${PKI_YAML}routines: 2\n` });
  assert.equal(loadConfig(join(many, 'c.yml')).config.firewall.conntrack.routineCacheTimeoutMs, 1000);
  const one = configDir(t, { 'c.yml': PKI_YAML });
  assert.equal(loadConfig(join(one, 'c.yml')).config.firewall.conntrack.routineCacheTimeoutMs, 0);
});

test('max_connections_per_host: 0 turns the per-peer flow quota off, like 0 for max_connections', (t) => {
  const conntrack =
    'firewall:\n  inbound:\n    - { port: any, proto: any, host: any }\n  conntrack:\n    max_connections: 100\n    max_connections_per_host: 0\n';
  const dir = configDir(t, { 'c.yml': PKI_YAML + conntrack });
  const { config } = loadConfig(join(dir, 'c.yml'));
  assert.equal(config.firewall.conntrack.maxConnectionsPerHost, 0);
  const rules = parseFirewallRules(config.firewall);
  assert.equal(rules.conntrack.maxConnectionsPerHost, 0, 'not replaced by the default of a tenth');
  const fw = new Firewall(rules, {
    clock: new ManualClock(0),
    localNets: [{ ip: parseIpv4('10.1.0.1'), mask: 0xffffffff }],
  });
  const one = peer({ ip: '10.1.0.2' });
  // Without a quota one peer may fill the whole share peers get (three quarters of max_connections).
  for (let port = 1; port <= 75; port++) {
    assert.equal(
      fw.filter(ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: UDP, srcPort: port, dstPort: 53 }), true, one),
      null,
      `flow ${port}`,
    );
  }
  assert.equal(fw.conntrackSize, 75);
  assert.equal(fw.dropCounts.get('conntrack-host-quota') ?? 0, 0);
});

test('an empty (null) section or key counts as absent', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}lighthouse:\ntun:\n  routes:\n  mtu:\nfirewall:\n  inbound:\n` });
  const { config } = loadConfig(join(dir, 'c.yml'));
  assert.equal(config.tun.mtu, 1300);
  assert.deepEqual(config.tun.routes, []);
  assert.deepEqual(config.firewall.inbound, []);
  assert.equal(config.lighthouse.interval, 10);
});

test('YAML anchors and << merge keys work as in Nebula', (t) => {
  const dir = configDir(t, {
    'c.yml': `${PKI_YAML}x-rule: &icmp\n  port: any\n  proto: icmp\nfirewall:\n  inbound:\n    - <<: *icmp\n      host: any\n`,
  });
  const { config, warnings } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(config.firewall.inbound, [{ port: 'any', proto: 'icmp', host: 'any' }]);
  assert.equal(warnings.length, 1); // x-rule itself is an unknown key
});

test('static_host_map keys and lighthouse hosts are compared in canonical dotted form', (t) => {
  const dir = configDir(t, {
    'c.yml': `${PKI_YAML}static_host_map:\n  "10.0.0.1": ["1.2.3.4:4242"]\nlighthouse:\n  hosts: [" 10.0.0.1"]\n`,
  });
  const { config } = loadConfig(join(dir, 'c.yml'));
  assert.deepEqual(config.lighthouse.hosts, ['10.0.0.1']);
});
