import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ConfigError,
  ConfigErrorCode,
  formatKeyPath,
  parseGoDuration,
  parseHostPort,
  readPemSource,
  validateConfig,
} from '../../pkg/config/index.js';
import { bareHost } from '../../pkg/config/addresses.js';
import { configDir } from './helpers/config-dir.js';

const PKI = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' };
const PEM = '-----BEGIN NEBULA CERTIFICATE-----\nAAAA\n-----END NEBULA CERTIFICATE-----\n';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('Go duration syntax converts to milliseconds', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['100ms', 100],
    ['1.5s', 1500],
    ['.5s', 500],
    ['12m', 720_000],
    ['1h30m', 5_400_000],
    ['1h2m3s4ms', 3_723_004],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
    ['-2s', -2000],
    ['+3s', 3000],
  ];
  for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
});

test('strings that are not Go durations are refused', () => {
  for (const text of ['', '100', '1.5', 's', '.s', '1 s', '1sec', '1d', '1h 30m', 'ms100', '--1s']) {
    assert.equal(parseGoDuration(text), undefined, text);
  }
});

test('keys Nebula reads as whole seconds take a bare number or a duration', () => {
  const { config } = validateConfig({
    pki: PKI,
    lighthouse: { interval: 90 },
    timers: { connection_alive_interval: '2500ms', pending_deletion_interval: '30' },
  });
  assert.equal(config.lighthouse.interval, 90);
  assert.equal(config.timers.connectionAliveIntervalMs, 2500);
  assert.equal(config.timers.pendingDeletionIntervalMs, 30_000);

  const asDuration = validateConfig({ pki: PKI, lighthouse: { interval: '1m30s' } });
  assert.equal(asDuration.config.lighthouse.interval, 90);
});

test('booleans accept true/false, yes/no, y/n, on/off in any case, and 1/0', () => {
  const truthy = [true, 'true', 'TRUE', 'yes', 'Yes', 'y', 'on', 'ON', 't', '1', 1];
  const falsy = [false, 'false', 'no', 'NO', 'n', 'off', 'f', '0', 0];
  for (const v of truthy)
    assert.equal(validateConfig({ pki: PKI, punchy: { punch: v } }).config.punchy.punch, true, String(v));
  for (const v of falsy)
    assert.equal(validateConfig({ pki: PKI, relay: { use_relays: v } }).config.relay.useRelays, false, String(v));
});

test('send_recv_error also takes a boolean: true is always, false is never', () => {
  assert.equal(validateConfig({ pki: PKI, listen: { send_recv_error: true } }).config.listen.sendRecvError, 'always');
  assert.equal(validateConfig({ pki: PKI, listen: { send_recv_error: 'no' } }).config.listen.sendRecvError, 'never');
  assert.equal(
    validateConfig({ pki: PKI, listen: { send_recv_error: 'private' } }).config.listen.sendRecvError,
    'private',
  );
});

test('integers written as quoted strings are accepted, as Nebula does', () => {
  assert.equal(validateConfig({ pki: PKI, listen: { port: '4242' } }).config.listen.port, 4242);
});

test('log levels are case-insensitive and warn means warning', () => {
  assert.equal(validateConfig({ pki: PKI, logging: { level: 'WARN' } }).config.logging.level, 'warning');
  assert.equal(validateConfig({ pki: PKI, logging: { level: 'Trace', format: 'JSON' } }).config.logging.format, 'json');
});

test('stats type none means no stats and needs no interval', () => {
  assert.equal(validateConfig({ pki: PKI, stats: { type: 'none' } }).config.stats.type, undefined);
});

test('unsafe route mtu 0 means the tun MTU, as in Nebula', () => {
  const { config } = validateConfig({
    pki: PKI,
    tun: { unsafe_routes: [{ route: '172.16.0.0/24', via: '10.0.0.1', mtu: 0 }] },
  });
  assert.equal(config.tun.unsafeRoutes[0].mtu, undefined);
});

test('tun.udp_offload is on unless set false, takes only a boolean, and is a known key', () => {
  assert.equal(validateConfig({ pki: PKI }).config.tun.udpOffload, true);
  const off = validateConfig({ pki: PKI, tun: { udp_offload: false } });
  assert.equal(off.config.tun.udpOffload, false);
  assert.deepEqual(off.warnings, []);
  assert.equal(validateConfig({ pki: PKI, tun: { udp_offload: 'off' } }).config.tun.udpOffload, false);
  assert.equal(
    thrown(() => validateConfig({ pki: PKI, tun: { udp_offload: 'sometimes' } })).code,
    ConfigErrorCode.type,
  );
});

test('listen.gro is on unless set false, takes only a boolean, and is a known key', () => {
  assert.equal(validateConfig({ pki: PKI }).config.listen.gro, true);
  const off = validateConfig({ pki: PKI, listen: { gro: false } });
  assert.equal(off.config.listen.gro, false);
  assert.deepEqual(off.warnings, []);
  assert.equal(thrown(() => validateConfig({ pki: PKI, listen: { gro: 'sometimes' } })).code, ConfigErrorCode.type);
});

test('validateConfig without a locator names <config> and the key', () => {
  const err = thrown(() => validateConfig({ pki: PKI, listen: { port: 'abc' } }));
  assert.equal(err.message, '<config>: listen.port: expected an integer 0-65535, got "abc"');
  assert.equal(err.line, undefined);
  assert.equal(thrown(() => validateConfig(['not', 'a', 'map'])).code, ConfigErrorCode.type);
});

test('validateConfig uses the locator it is given for errors and warnings', () => {
  const locate = (path: readonly (string | number)[]) => ({ file: 'x.yml', line: path.length * 10 });
  const err = thrown(() => validateConfig({ pki: PKI, tun: { mtu: 100 } }, locate));
  assert.equal(err.message, 'x.yml:20: tun.mtu: expected an integer 500-65535, got 100');
  const { warnings } = validateConfig({ pki: PKI, bogus: 1 }, locate);
  assert.deepEqual(warnings, ['x.yml:10: bogus: unknown key (ignored)']);
});

test('host:port parsing follows Go SplitHostPort and keeps names unresolved', () => {
  assert.deepEqual(parseHostPort('1.2.3.4:4242'), { host: '1.2.3.4', port: 4242 });
  assert.deepEqual(parseHostPort('[::1]:4242'), { host: '::1', port: 4242 });
  assert.deepEqual(parseHostPort('[2001:db8::1]:0'), { host: '2001:db8::1', port: 0 });
  assert.deepEqual(parseHostPort('lighthouse.example.net:4242'), { host: 'lighthouse.example.net', port: 4242 });
  for (const bad of [
    '1.2.3.4',
    '::1:4242',
    '[::1]4242',
    '[::1',
    '1.2.3.4:65536',
    '1.2.3.4:',
    'host:x',
    ':4242',
    '[1.2.3.4]:1',
    'bad_host!:1',
  ]) {
    assert.equal(typeof parseHostPort(bad), 'string', bad);
  }
});

test('formatKeyPath writes indices in brackets and quotes keys that are not plain words', () => {
  assert.equal(formatKeyPath(['firewall', 'inbound', 2, 'port']), 'firewall.inbound[2].port');
  assert.equal(formatKeyPath(['static_host_map', '10.0.0.1', 0]), 'static_host_map["10.0.0.1"][0]');
});

test('readPemSource returns inline PEM unchanged', () => {
  assert.equal(readPemSource(PEM, '/nonexistent'), PEM);
});

test('readPemSource reads a relative path from the config directory and an absolute path as is', (t) => {
  const dir = configDir(t, { 'ca.crt': PEM });
  assert.equal(readPemSource('ca.crt', dir, 'pki.ca'), PEM);
  assert.equal(readPemSource(join(dir, 'ca.crt'), '/elsewhere', 'pki.ca'), PEM);
});

test('readPemSource errors name the key and the file it tried', (t) => {
  const dir = configDir(t, { 'notpem.txt': 'hello' });
  const missing = thrown(() => readPemSource('host.key', dir, 'pki.key'));
  assert.equal(missing.code, ConfigErrorCode.pem);
  assert.equal(missing.key, 'pki.key');
  assert.equal(missing.file, join(dir, 'host.key'));
  assert.match(missing.message, /pki\.key: cannot read the PEM file \(ENOENT\)/);

  const notPem = thrown(() => readPemSource('notpem.txt', dir, 'pki.ca'));
  assert.equal(notPem.file, join(dir, 'notpem.txt'));
  assert.match(notPem.message, /no PEM block/);
});

test('inline PEM in the YAML is kept exactly as written in the config', () => {
  const { config } = validateConfig({ pki: { ca: PEM, cert: 'host.crt', key: 'host.key' } });
  assert.equal(config.pki.ca, PEM);
});

test('listen.host in brackets is bare for the socket; anything else is left as written', () => {
  assert.equal(bareHost('[::]'), '::');
  assert.equal(bareHost('[2001:db8::1]'), '2001:db8::1');
  assert.equal(bareHost('0.0.0.0'), '0.0.0.0');
  assert.equal(bareHost('::'), '::');
  assert.equal(bareHost('[::'), '[::', 'an unclosed bracket is not stripped (the config check reports it)');
  assert.equal(bareHost('host.example'), 'host.example');
});
