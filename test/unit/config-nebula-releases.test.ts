// Nebula 1.6.1 .. 1.11.x configs load with the newest release's meaning: every release's stock examples/config.yml
// (test/data/nebula-examples, fetched from Nebula's repository at each tag), and a fixture setting every key
// 1.7-1.11 added. Where an older config depends on an old meaning, one warning names the key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, validateConfig } from '../../pkg/config/index.js';
import { unsupportedSettings } from '../../pkg/daemon/unsupported.js';
import { resolveListenHost } from '../../pkg/daemon/listen-host.js';
import { parseFirewallRules } from '../../pkg/firewall/firewall.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(REPO, 'test/data/nebula-examples');
const FIXTURE = join(REPO, 'test/fixtures/config/nebula-1.7-1.11-keys.yml');

/** "v1.9.0.yml" -> [1, 9, 0] */
function versionOf(file: string): number[] {
  return file
    .replace(/^v|\.yml$/g, '')
    .split('.')
    .map(Number);
}

function atLeast(v: number[], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

const releases = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yml'));

test('the stock example of every release from 1.6.1 to 1.11.x is here', () => {
  for (const minor of [6, 7, 8, 9, 10, 11])
    assert.ok(
      releases.some((f) => f.startsWith(`v1.${minor}.`)),
      `1.${minor}`,
    );
  assert.ok(releases.length >= 21, `${releases.length} files`);
});

for (const file of releases) {
  test(`Nebula ${file.replace(/\.yml$/, '')}'s examples/config.yml loads, every key known, its firewall valid`, () => {
    const v = versionOf(file);
    const loaded = loadConfig(join(EXAMPLES, file));
    assert.deepEqual(
      loaded.warnings.filter((w) => /unknown key/.test(w)),
      [],
    );
    const rules = parseFirewallRules(loaded.config.firewall, { unsafeNetworks: true });
    assert.deepEqual(
      rules.warnings.filter((w) => /unknown key/.test(w)),
      [],
    );
    // Newest semantics: disconnect_invalid is on unless a config says otherwise (the examples leave it commented).
    assert.equal(loaded.config.pki.disconnectInvalid, true);
    // 1.9+ examples expose an unsafe route to group remote_client through local_cidr.
    const local = rules.inbound.rules.filter((r) => r.localCidr.kind === 'net');
    assert.equal(local.length, atLeast(v, 1, 9) ? 1 : 0);
    // Rules without local_cidr no longer reach unsafe networks (1.10+): named once, for every release's example.
    assert.equal(rules.warnings.filter((w) => /without local_cidr/.test(w)).length, 1);
    // 1.10+ examples listen on "::" (IPv4 and IPv6), older ones on 0.0.0.0.
    assert.equal(loaded.config.listen.host, atLeast(v, 1, 10) ? '::' : '0.0.0.0');
    // Both actions are written out (drop, drop) since 1.7: no swap warning.
    assert.deepEqual(
      loaded.warnings.filter((w) => /inbound_action/.test(w)),
      [],
    );
  });
}

test('every key Nebula 1.7-1.11 added loads into the typed config, and none is unknown', () => {
  const { config, warnings } = loadConfig(FIXTURE);
  assert.deepEqual(
    warnings.filter((w) => /unknown key/.test(w)),
    [],
  );
  assert.equal(config.pki.disconnectInvalid, false);
  assert.equal(config.pki.initiatingVersion, 2);
  assert.deepEqual(config.lighthouse.calculatedRemotes, [
    { vpnRange: '10.0.10.0/24', remotes: [{ mask: '192.168.1.0/24', port: 4242 }] },
  ]);
  assert.equal(config.listen.host, 'localhost');
  assert.equal(config.listen.acceptRecvError, 'private');
  assert.equal(config.listen.soMark, 42);
  assert.deepEqual([config.punchy.respondDelayMs, config.punchy.targetAllRemotes], [2000, true]);
  assert.deepEqual(config.tun.unsafeRoutes, [
    {
      route: '172.16.1.0/24',
      via: [{ gateway: '192.168.100.99', weight: 1 }],
      mtu: undefined,
      metric: undefined,
      install: false,
    },
    {
      route: '192.168.87.0/24',
      via: [
        { gateway: '192.168.100.1', weight: 10 },
        { gateway: '192.168.100.2', weight: 1 },
      ],
      mtu: undefined,
      metric: undefined,
      install: true,
    },
  ]);
  assert.equal(config.tun.useSystemRouteTable, true);
  assert.equal(config.tun.useSystemRouteTableBufferSize, 65536);
  assert.equal(config.logging.level, 'warning');
  assert.deepEqual(config.later, {
    staticMapCadenceMs: 300_000,
    staticMapNetwork: 'ip',
    staticMapLookupTimeoutMs: 1000,
    tunnelsDropInactive: true,
    tunnelsInactivityTimeoutMs: 300_000,
    requeryWaitMs: 30_000,
    queryBuffer: 32,
  });
  const rules = parseFirewallRules(config.firewall, { unsafeNetworks: true });
  assert.deepEqual(
    rules.inbound.rules.map((r) => r.localCidr.kind),
    ['default', 'net', 'any'],
  );
  assert.equal(rules.inboundAction, 'drop');
  assert.equal(rules.outboundAction, 'reject');
  assert.equal(rules.defaultLocalCidrAny, true);
});

test('an older meaning gets one warning naming its key: swapped actions, default_local_cidr_any, a listen host name', () => {
  const { warnings } = loadConfig(FIXTURE);
  const keys = warnings.map((w) => w.replace(/^[^:]*:\d+: ([\w.]+):.*$/, '$1'));
  for (const key of ['firewall.inbound_action', 'firewall.default_local_cidr_any', 'listen.host']) {
    assert.equal(keys.filter((k) => k === key).length, 1, `${key} in ${JSON.stringify(warnings)}`);
  }
  assert.ok(
    warnings.every((w) => !w.includes('\n')),
    'one line each',
  );
});

test('the keys mesh accepts but does not act on are each named at start when set', () => {
  const notes = unsupportedSettings(loadConfig(FIXTURE).config).map((n) => n.split(':')[0]);
  assert.deepEqual(notes, ['listen.so_mark', 'static_map', 'tunnels.drop_inactive', 'timers.requery_wait_duration']);
  assert.deepEqual(unsupportedSettings(loadConfig(join(EXAMPLES, 'v1.11.1.yml')).config), []);
});

const PKI = { pki: { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' } };

function refusal(extra: Record<string, unknown>): ConfigError {
  try {
    validateConfig({ ...PKI, ...extra });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail(`accepted ${JSON.stringify(extra)}`);
}

test('bad 1.7-1.11 values are errors naming the key', () => {
  const route = (via: unknown, more: Record<string, unknown> = {}) => ({
    tun: { unsafe_routes: [{ route: '10.9.0.0/16', via, ...more }] },
  });
  assert.equal(refusal(route([{ gateway: '192.168.100.1', weight: 0 }])).key, 'tun.unsafe_routes[0].via[0].weight');
  assert.equal(refusal(route([{ weight: 2 }])).key, 'tun.unsafe_routes[0].via[0].gateway');
  assert.equal(refusal(route([{ gateway: 'gw1' }])).key, 'tun.unsafe_routes[0].via[0].gateway');
  assert.equal(
    refusal(route([{ gateway: '192.168.100.1' }, { gateway: '192.168.100.1' }])).key,
    'tun.unsafe_routes[0].via[1].gateway',
  );
  assert.equal(refusal(route([])).key, 'tun.unsafe_routes[0].via');
  assert.equal(refusal(route('192.168.100.1', { install: 'maybe' })).key, 'tun.unsafe_routes[0].install');
  const calc = (v: unknown) => ({ lighthouse: { calculated_remotes: v } });
  assert.equal(
    refusal(calc({ '10.0.10.0/24': [{ mask: 'fd00::/64', port: 1 }] })).key,
    'lighthouse.calculated_remotes["10.0.10.0/24"][0].mask',
  );
  assert.equal(
    refusal(calc({ '10.0.10.0/24': [{ mask: '192.168.1.0/24' }] })).key,
    'lighthouse.calculated_remotes["10.0.10.0/24"][0].port',
  );
  assert.equal(refusal(calc({ nope: [] })).key, 'lighthouse.calculated_remotes.nope');
  assert.equal(refusal({ pki: { ...PKI.pki, initiating_version: 3 } }).key, 'pki.initiating_version');
  assert.equal(refusal({ listen: { accept_recv_error: 'sometimes' } }).key, 'listen.accept_recv_error');
  assert.equal(refusal({ punchy: { respond_delay: 'soon' } }).key, 'punchy.respond_delay');
  assert.equal(refusal({ static_map: { network: 'ip5' } }).key, 'static_map.network');
});

test('listen.host: a name resolves to its first address (IPv4-mapped unmapped); one that does not is an error naming the key', async () => {
  const loaded = loadConfig(FIXTURE);
  const resolved = await resolveListenHost(loaded, async () => ['::ffff:127.0.0.1', '::1']);
  assert.equal(resolved.host, '127.0.0.1');
  assert.equal(resolved.port, 4242);
  const err = await resolveListenHost(loaded, async () => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
  }).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.key, 'listen.host');
  assert.match(err.message, /nebula-1\.7-1\.11-keys\.yml:\d+: listen\.host: cannot resolve "localhost": ENOTFOUND/);
  // An address is used as is, without asking the resolver.
  const ip = { ...loaded, config: { ...loaded.config, listen: { ...loaded.config.listen, host: '[::]' } } };
  assert.equal((await resolveListenHost(ip, async () => assert.fail('resolved an address'))).host, '[::]');
});
