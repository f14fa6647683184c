import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../pkg/config/index.js';
import { checkOverlayConfig, OverlayConfigError } from '../../pkg/daemon/overlay-checks.js';
import { resolveStaticHosts, StaticHostError } from '../../pkg/daemon/static-hosts.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { UnsafeRouteTable } from '../../pkg/routing/unsafe-routes.js';

// IPv6 overlay addresses in the config (docs/ipv6.md): static_host_map keys, lighthouse.hosts, relay.relays and
// unsafe_routes accept them in canonical form; the checks against our certificate's networks name the key.

const PKI = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' };
const DUAL = [parseIpPrefix('10.9.0.1/24'), parseIpPrefix('fd00:9::1/64')];

function configError(raw: unknown): ConfigError {
  try {
    validateConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('IPv6 overlay addresses are read in canonical form wherever an overlay address goes', () => {
  const { config } = validateConfig({
    pki: PKI,
    static_host_map: { 'FD00:9:0::2': ['192.0.2.2:4242'], '::ffff:10.9.0.3': ['192.0.2.3:4242'] },
    lighthouse: { hosts: ['fd00:9:0:0::2'] },
    relay: { relays: ['FD00:9::7'] },
    tun: {
      unsafe_routes: [
        { route: 'fd77::/48', via: 'fd00:9::7' },
        { route: '192.168.5.0/24', via: [{ gateway: 'fd00:9::8', weight: 2 }] },
      ],
    },
  });
  assert.deepEqual(
    [...config.staticHostMap.keys()],
    ['fd00:9::2', '10.9.0.3'],
    'a mapped IPv4 key is the IPv4 address',
  );
  assert.deepEqual(config.lighthouse.hosts, ['fd00:9::2']);
  assert.deepEqual(config.relay.relays, ['fd00:9::7']);
  assert.equal(config.tun.unsafeRoutes[0].route, 'fd77::/48');
  assert.deepEqual(config.tun.unsafeRoutes[0].via, [{ gateway: 'fd00:9::7', weight: 1 }]);
  assert.deepEqual(config.tun.unsafeRoutes[1].via, [{ gateway: 'fd00:9::8', weight: 2 }]);
});

test('a malformed overlay address or route names its key', () => {
  assert.equal(configError({ pki: PKI, lighthouse: { hosts: ['fd00::zz'] } }).key, 'lighthouse.hosts[0]');
  assert.equal(configError({ pki: PKI, relay: { relays: ['fe80::1%eth0'] } }).key, 'relay.relays[0]');
  assert.match(
    configError({ pki: PKI, static_host_map: { 'fd00::1::2': ['192.0.2.2:4242'] } }).key ?? '',
    /^static_host_map/,
  );
  assert.equal(
    configError({ pki: PKI, tun: { unsafe_routes: [{ route: 'fd77::/129', via: 'fd00::7' }] } }).key,
    'tun.unsafe_routes[0].route',
  );
  assert.equal(
    configError({ pki: PKI, tun: { unsafe_routes: [{ route: 'fd77::/48', via: 'fd00::7/64' }] } }).key,
    'tun.unsafe_routes[0].via',
  );
});

test('tun.mtu below 1280 is refused, naming tun.mtu, only when the host has an IPv6 network', () => {
  const small = validateConfig({ pki: PKI, tun: { mtu: 1200 } }).config;
  assert.throws(
    () => checkOverlayConfig(small, DUAL),
    (e: unknown) => e instanceof OverlayConfigError && /^tun\.mtu: 1200 is below 1280/.test(e.message),
  );
  checkOverlayConfig(small, [parseIpPrefix('10.9.0.1/24')]);
  checkOverlayConfig(validateConfig({ pki: PKI, tun: { mtu: 1280 } }).config, DUAL);
  checkOverlayConfig(validateConfig({ pki: PKI, tun: { mtu: 1200, disabled: true } }).config, DUAL);
});

test('lighthouse.hosts outside all our networks is a warning naming the entry, as Nebula 1.11; either family inside is quiet', () => {
  const statics = { '10.9.0.2': ['192.0.2.2:4242'], 'fd00:9::2': ['192.0.2.2:4242'], 'fd00:8::2': ['192.0.2.2:4242'] };
  const inside = validateConfig({
    pki: PKI,
    static_host_map: statics,
    lighthouse: { hosts: ['10.9.0.2', 'fd00:9::2'] },
  }).config;
  assert.deepEqual(checkOverlayConfig(inside, DUAL), []);
  const outside = validateConfig({
    pki: PKI,
    static_host_map: statics,
    lighthouse: { hosts: ['10.9.0.2', 'fd00:8::2'] },
  }).config;
  const warnings = checkOverlayConfig(outside, DUAL);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /^lighthouse\.hosts\[1\]: fd00:8::2 is not inside our networks .*layer 3 network traffic to the lighthouse will not/,
  );
  // An IPv6 lighthouse for an IPv4-only host: the family alone puts it outside.
  assert.equal(checkOverlayConfig(inside, [parseIpPrefix('10.9.0.1/24')]).length, 1);
});

test('static_host_map keys of both families resolve inside our networks; one outside them is refused', async () => {
  const map = new Map([
    ['fd00:9::2', ['[2001:db8::2]:4242']],
    ['10.9.0.3', ['192.0.2.3:4242']],
  ]);
  const hosts = await resolveStaticHosts(map, DUAL);
  assert.deepEqual(hosts.get('fd00:9::2'), [{ address: '2001:db8::2', port: 4242 }]);
  assert.deepEqual(hosts.get(parseVpnIp('10.9.0.3')), [{ address: '192.0.2.3', port: 4242 }]);
  await assert.rejects(resolveStaticHosts(new Map([['fd00:8::2', ['192.0.2.2:4242']]]), DUAL), StaticHostError);
});

test('unsafe routes: an IPv6 route is found for IPv6 destinations only, most specific first, via a gateway of either family', () => {
  const table = new UnsafeRouteTable([
    { route: 'fd77::/16', via: [{ gateway: 'fd00:9::7', weight: 1 }] },
    { route: 'fd77:1::/48', via: [{ gateway: '10.9.0.8', weight: 1 }] },
    { route: '192.168.5.0/24', via: [{ gateway: 'fd00:9::9', weight: 1 }] },
  ]);
  const up = (): boolean => true;
  assert.equal(table.gatewayFor(parseVpnIp('fd77:2::5'), undefined, up), 'fd00:9::7');
  assert.equal(table.gatewayFor(parseVpnIp('fd77:1::5'), undefined, up), parseVpnIp('10.9.0.8'));
  assert.equal(table.gatewayFor(parseVpnIp('192.168.5.1'), undefined, up), 'fd00:9::9');
  assert.equal(table.gatewayFor(parseVpnIp('fd78::1'), undefined, up), null);
  assert.equal(table.size, 3);
});

test('lighthouse.calculated_remotes takes an IPv6 range with IPv6 masks; a mask of the other family names its key', () => {
  const { config } = validateConfig({
    pki: PKI,
    lighthouse: { calculated_remotes: { 'fd00:9::/64': [{ mask: '2001:db8::/64', port: 4242 }] } },
  });
  assert.deepEqual(config.lighthouse.calculatedRemotes, [
    { vpnRange: 'fd00:9::/64', remotes: [{ mask: '2001:db8::/64', port: 4242 }] },
  ]);
  const e = configError({
    pki: PKI,
    lighthouse: { calculated_remotes: { 'fd00:9::/64': [{ mask: '192.0.2.0/24', port: 4242 }] } },
  });
  assert.match(e.key ?? '', /calculated_remotes.*mask/);
  assert.match(e.message, /IPv6 CIDR/);
});
