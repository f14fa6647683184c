import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigErrorCode, loadConfig } from '../../pkg/config/index.js';
import { configDir, PKI_YAML } from './helpers/config-dir.js';

function loadError(path: string): ConfigError {
  try {
    loadConfig(path);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected loadConfig to throw');
}

test('a wrong value names file, line and key in one line', (t) => {
  const dir = configDir(t, { 'config.yml': `${PKI_YAML}listen:\n  port: abc\n` });
  const err = loadError(join(dir, 'config.yml'));
  assert.equal(err.message, `${join(dir, 'config.yml')}:6: listen.port: expected an integer 0-65535, got "abc"`);
  assert.equal(err.code, ConfigErrorCode.type);
  assert.equal(err.file, join(dir, 'config.yml'));
  assert.equal(err.line, 6);
  assert.equal(err.key, 'listen.port');
});

interface BadValue {
  name: string;
  yaml: string;
  code: string;
  key: string;
  line: number;
  message: RegExp;
}

const BAD_VALUES: BadValue[] = [
  {
    name: 'a port above 65535',
    yaml: 'listen:\n  port: 70000\n',
    code: 'ECONFIG_RANGE',
    key: 'listen.port',
    line: 6,
    message: /0-65535, got 70000/,
  },
  {
    name: 'a listen host that is neither an address nor a name',
    yaml: 'listen:\n  host: "bad host!"\n',
    code: 'ECONFIG_VALUE',
    key: 'listen.host',
    line: 6,
    message: /IP address .* or a host name/,
  },
  {
    name: 'a negative port',
    yaml: 'listen:\n  port: -1\n',
    code: 'ECONFIG_RANGE',
    key: 'listen.port',
    line: 6,
    message: /0-65535/,
  },
  {
    name: 'a fractional port',
    yaml: 'listen:\n  port: 42.5\n',
    code: 'ECONFIG_TYPE',
    key: 'listen.port',
    line: 6,
    message: /integer/,
  },
  {
    name: 'a tun MTU below 500',
    yaml: 'tun:\n  mtu: 400\n',
    code: 'ECONFIG_RANGE',
    key: 'tun.mtu',
    line: 6,
    message: /500-65535, got 400/,
  },
  {
    name: 'a tun route MTU below 500',
    yaml: 'tun:\n  routes:\n    - mtu: 100\n      route: 10.0.0.0/24\n',
    code: 'ECONFIG_RANGE',
    key: 'tun.routes[0].mtu',
    line: 7,
    message: /500/,
  },
  {
    name: 'a tun route without mtu',
    yaml: 'tun:\n  routes:\n    - route: 10.0.0.0/24\n',
    code: 'ECONFIG_MISSING',
    key: 'tun.routes[0].mtu',
    line: 7,
    message: /required/,
  },
  {
    name: 'a tun route with a bad CIDR',
    yaml: 'tun:\n  routes:\n    - mtu: 1300\n      route: 10.0.0.0/40\n',
    code: 'ECONFIG_VALUE',
    key: 'tun.routes[0].route',
    line: 8,
    message: /IPv4 CIDR/,
  },
  {
    name: 'an unsafe route without via',
    yaml: 'tun:\n  unsafe_routes:\n    - route: 172.16.0.0/24\n',
    code: 'ECONFIG_MISSING',
    key: 'tun.unsafe_routes[0].via',
    line: 7,
    message: /required/,
  },
  {
    name: 'an unsafe route via a name',
    yaml: 'tun:\n  unsafe_routes:\n    - route: 172.16.0.0/24\n      via: gateway\n',
    code: 'ECONFIG_VALUE',
    key: 'tun.unsafe_routes[0].via',
    line: 8,
    message: /IPv4/,
  },
  {
    name: 'an unsafe route with a negative metric',
    yaml: 'tun:\n  unsafe_routes:\n    - route: 172.16.0.0/24\n      via: 10.0.0.1\n      metric: -5\n',
    code: 'ECONFIG_RANGE',
    key: 'tun.unsafe_routes[0].metric',
    line: 9,
    message: /integer/,
  },
  {
    name: 'tun.routes that is not a list',
    yaml: 'tun:\n  routes: 10.0.0.0/24\n',
    code: 'ECONFIG_TYPE',
    key: 'tun.routes',
    line: 6,
    message: /expected a list, got "10.0.0.0\/24"/,
  },
  {
    name: 'an unknown cipher',
    yaml: 'cipher: aes256\n',
    code: 'ECONFIG_VALUE',
    key: 'cipher',
    line: 5,
    message: /one of aes, chachapoly, got "aes256"/,
  },
  {
    name: 'an unknown log level',
    yaml: 'logging:\n  level: loud\n',
    code: 'ECONFIG_VALUE',
    key: 'logging.level',
    line: 6,
    message: /loud/,
  },
  {
    name: 'an unknown log format',
    yaml: 'logging:\n  format: xml\n',
    code: 'ECONFIG_VALUE',
    key: 'logging.format',
    line: 6,
    message: /text, json/,
  },
  {
    name: 'an unknown send_recv_error',
    yaml: 'listen:\n  send_recv_error: sometimes\n',
    code: 'ECONFIG_VALUE',
    key: 'listen.send_recv_error',
    line: 6,
    message: /always, never, private/,
  },
  {
    name: 'an unknown firewall action',
    yaml: 'firewall:\n  inbound_action: block\n',
    code: 'ECONFIG_VALUE',
    key: 'firewall.inbound_action',
    line: 6,
    message: /drop, reject/,
  },
  {
    name: 'an unknown stats type',
    yaml: 'stats:\n  type: statsd\n',
    code: 'ECONFIG_VALUE',
    key: 'stats.type',
    line: 6,
    message: /graphite, prometheus/,
  },
  {
    name: 'stats without an interval',
    yaml: 'stats:\n  type: prometheus\n  listen: :8080\n  path: /m\n',
    code: 'ECONFIG_MISSING',
    key: 'stats.interval',
    line: 5,
    message: /required/,
  },
  {
    name: 'graphite stats without a host',
    yaml: 'stats:\n  type: graphite\n  interval: 10s\n',
    code: 'ECONFIG_MISSING',
    key: 'stats.host',
    line: 5,
    message: /graphite/,
  },
  {
    name: 'an unparsable duration',
    yaml: 'handshakes:\n  try_interval: fast\n',
    code: 'ECONFIG_VALUE',
    key: 'handshakes.try_interval',
    line: 6,
    message: /duration/,
  },
  {
    name: 'a duration without unit',
    yaml: 'handshakes:\n  try_interval: 100\n',
    code: 'ECONFIG_VALUE',
    key: 'handshakes.try_interval',
    line: 6,
    message: /duration/,
  },
  {
    name: 'a negative duration',
    yaml: 'firewall:\n  conntrack:\n    tcp_timeout: -1m\n',
    code: 'ECONFIG_RANGE',
    key: 'firewall.conntrack.tcp_timeout',
    line: 7,
    message: /negative/,
  },
  {
    name: 'a negative per-host flow quota',
    yaml: 'firewall:\n  conntrack:\n    max_connections_per_host: -1\n',
    code: 'ECONFIG_RANGE',
    key: 'firewall.conntrack.max_connections_per_host',
    line: 7,
    message: /integer 0-/,
  },
  {
    name: 'a fractional per-host flow quota',
    yaml: 'firewall:\n  conntrack:\n    max_connections_per_host: 2.5\n',
    code: 'ECONFIG_TYPE',
    key: 'firewall.conntrack.max_connections_per_host',
    line: 7,
    message: /integer/,
  },
  {
    name: 'a zero handshake interval',
    yaml: 'handshakes:\n  try_interval: 0s\n',
    code: 'ECONFIG_RANGE',
    key: 'handshakes.try_interval',
    line: 6,
    message: /at least/,
  },
  {
    name: 'an unparsable lighthouse interval',
    yaml: 'lighthouse:\n  interval: soon\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.interval',
    line: 6,
    message: /seconds/,
  },
  {
    name: 'a non-boolean flag',
    yaml: 'punchy:\n  punch: maybe\n',
    code: 'ECONFIG_TYPE',
    key: 'punchy.punch',
    line: 6,
    message: /boolean.*got "maybe"/,
  },
  {
    name: 'a list where a section belongs',
    yaml: 'lighthouse: [1, 2]\n',
    code: 'ECONFIG_TYPE',
    key: 'lighthouse',
    line: 5,
    message: /expected a map, got a list/,
  },
  {
    name: 'a number where a string belongs',
    yaml: 'tun:\n  dev: 5\n',
    code: 'ECONFIG_TYPE',
    key: 'tun.dev',
    line: 6,
    message: /expected a string, got 5/,
  },
  {
    name: 'a bad preferred range',
    yaml: 'preferred_ranges: ["10.0.0.0/8", "10.0.0.0/33"]\n',
    code: 'ECONFIG_VALUE',
    key: 'preferred_ranges[1]',
    line: 5,
    message: /\/33/,
  },
  {
    name: 'a bad local_range',
    yaml: 'local_range: 10.0.0.0\n',
    code: 'ECONFIG_VALUE',
    key: 'local_range',
    line: 5,
    message: /missing \/prefix/,
  },
  {
    name: 'a bad remote_allow_list CIDR',
    yaml: 'lighthouse:\n  remote_allow_list:\n    "10.0.0.0/8": false\n    "fe80::/200": false\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.remote_allow_list["fe80::/200"]',
    line: 8,
    message: /0-128/,
  },
  {
    name: 'a remote_allow_list CIDR with a zone',
    yaml: 'lighthouse:\n  remote_allow_list:\n    "fe80::1%eth0/64": false\n    "::/0": true\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.remote_allow_list["fe80::1%eth0/64"]',
    line: 7,
    message: /zone/,
  },
  {
    name: 'a remote_allow_list value that is not a boolean',
    yaml: 'lighthouse:\n  remote_allow_list:\n    "10.0.0.0/8": nope\n',
    code: 'ECONFIG_TYPE',
    key: 'lighthouse.remote_allow_list["10.0.0.0/8"]',
    line: 7,
    message: /boolean/,
  },
  {
    name: 'a mixed remote_allow_list without default',
    yaml: 'lighthouse:\n  remote_allow_list:\n    "10.0.0.0/8": false\n    "10.1.0.0/16": true\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.remote_allow_list',
    line: 6,
    message: /0\.0\.0\.0\/0/,
  },
  {
    name: 'a mixed IPv6 allow list without default',
    yaml: 'lighthouse:\n  local_allow_list:\n    "fd00::/8": false\n    "fd00:1::/32": true\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.local_allow_list',
    line: 6,
    message: /::\/0/,
  },
  {
    name: 'local_allow_list interfaces with mixed values',
    yaml: 'lighthouse:\n  local_allow_list:\n    interfaces:\n      "eth.*": true\n      "docker.*": false\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.local_allow_list.interfaces["docker.*"]',
    line: 9,
    message: /same/,
  },
  {
    name: 'a bad interface regex',
    yaml: 'lighthouse:\n  local_allow_list:\n    interfaces:\n      "eth[": true\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.local_allow_list.interfaces["eth["]',
    line: 8,
    message: /regex/,
  },
  {
    name: 'a bad remote_allow_ranges CIDR',
    yaml: 'lighthouse:\n  remote_allow_ranges:\n    "192.168.100.0":\n      "10.0.0.0/8": true\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.remote_allow_ranges["192.168.100.0"]',
    line: 7,
    message: /prefix/,
  },
  {
    name: 'a static_host_map key that is not an IP',
    yaml: 'static_host_map:\n  lighthouse: ["1.2.3.4:4242"]\n',
    code: 'ECONFIG_VALUE',
    key: 'static_host_map.lighthouse',
    line: 6,
    message: /IPv4/,
  },
  {
    name: 'a static_host_map address without port',
    yaml: 'static_host_map:\n  "10.0.0.1": ["1.2.3.4:4242", "1.2.3.4"]\n',
    code: 'ECONFIG_VALUE',
    key: 'static_host_map["10.0.0.1"][1]',
    line: 6,
    message: /missing port/,
  },
  {
    name: 'an IPv6 static address without brackets',
    yaml: 'static_host_map:\n  "10.0.0.1":\n    - "2001:db8::1:4242"\n',
    code: 'ECONFIG_VALUE',
    key: 'static_host_map["10.0.0.1"][0]',
    line: 7,
    message: /\[::1\]:4242/,
  },
  {
    name: 'a static address with a port out of range',
    yaml: 'static_host_map:\n  "10.0.0.1": "host.example:99999"\n',
    code: 'ECONFIG_VALUE',
    key: 'static_host_map["10.0.0.1"]',
    line: 6,
    message: /0-65535/,
  },
  {
    name: 'a bad advertise address',
    yaml: 'lighthouse:\n  advertise_addrs: ["1.2.3.999:4242"]\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.advertise_addrs[0]',
    line: 6,
    message: /host name/,
  },
  {
    name: 'a lighthouse host that is not an IP',
    yaml: 'lighthouse:\n  hosts:\n    - lighthouse1\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.hosts[0]',
    line: 7,
    message: /IPv4/,
  },
  {
    name: 'a lighthouse host missing from static_host_map',
    yaml: 'lighthouse:\n  hosts:\n    - 10.0.0.1\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.hosts[0]',
    line: 7,
    message: /no static_host_map entry/,
  },
  {
    name: 'a lighthouse without a fixed port',
    yaml: 'lighthouse:\n  am_lighthouse: true\n',
    code: 'ECONFIG_VALUE',
    key: 'lighthouse.am_lighthouse',
    line: 6,
    message: /listen\.port/,
  },
  {
    name: 'a relay that is not an IP',
    yaml: 'relay:\n  relays: [relay1]\n',
    code: 'ECONFIG_VALUE',
    key: 'relay.relays[0]',
    line: 6,
    message: /IPv4/,
  },
  {
    name: 'firewall rules that are not a list',
    yaml: 'firewall:\n  inbound: allow all\n',
    code: 'ECONFIG_TYPE',
    key: 'firewall.inbound',
    line: 6,
    message: /expected a list/,
  },
  {
    name: 'a firewall rule that is not a map',
    yaml: 'firewall:\n  outbound:\n    - port: any\n      proto: any\n      host: any\n    - any\n',
    code: 'ECONFIG_TYPE',
    key: 'firewall.outbound[1]',
    line: 10,
    message: /rule/,
  },
  {
    name: 'a blocklist entry that is not a string',
    yaml: '  blocklist: [[1]]\n',
    code: 'ECONFIG_TYPE',
    key: 'pki.blocklist[0]',
    line: 5,
    message: /expected a string, got a list/,
  },
];

for (const bad of BAD_VALUES) {
  test(`${bad.name} is an error naming its key and line`, (t) => {
    const dir = configDir(t, { 'c.yml': PKI_YAML + bad.yaml });
    const err = loadError(join(dir, 'c.yml'));
    assert.equal(err.code, bad.code, err.message);
    assert.equal(err.key, bad.key, err.message);
    assert.equal(err.line, bad.line, err.message);
    assert.equal(err.file, join(dir, 'c.yml'));
    assert.match(err.message, bad.message);
    assert.ok(err.message.startsWith(`${join(dir, 'c.yml')}:${bad.line}: ${bad.key}: `), err.message);
  });
}

test('a missing required pki key names the key, and the pki line when there is one', (t) => {
  const dir = configDir(t, { 'c.yml': 'pki:\n  ca: ca.crt\n  key: host.key\n' });
  const err = loadError(join(dir, 'c.yml'));
  assert.equal(err.code, ConfigErrorCode.missing);
  assert.equal(err.key, 'pki.cert');
  assert.equal(err.line, 1); // the nearest written ancestor: the pki map
  assert.match(err.message, /pki\.cert: required/);

  const none = configDir(t, { 'c.yml': 'listen:\n  port: 1\n' });
  const err2 = loadError(join(none, 'c.yml'));
  assert.equal(err2.key, 'pki.ca');
  assert.equal(err2.line, undefined);
  assert.equal(err2.message, `${join(none, 'c.yml')}: pki.ca: required: a file path or inline PEM`);
});

test('an error in the second file of a directory names that file', (t) => {
  const dir = configDir(t, { '01-pki.yml': PKI_YAML, '02-listen.yml': '# listen\nlisten:\n  port: "x"\n' });
  const err = loadError(dir);
  assert.equal(err.file, join(dir, '02-listen.yml'));
  assert.equal(err.line, 3);
});

test('a missing config path is an error naming it', () => {
  const path = join(tmpdir(), `mesh-config-missing-${process.pid}.yml`);
  const err = loadError(path);
  assert.equal(err.code, ConfigErrorCode.notFound);
  assert.equal(err.file, path);
});

test('a directory with no yml or yaml files is an error', (t) => {
  const dir = configDir(t, { 'readme.txt': 'hello' });
  assert.equal(loadError(dir).code, ConfigErrorCode.notFound);
});

test('a dangling yml symlink in a config directory is an error naming it', (t) => {
  const dir = configDir(t, { 'a.yml': PKI_YAML });
  symlinkSync(join(dir, 'gone'), join(dir, 'b.yml'));
  const err = loadError(dir);
  assert.equal(err.code, ConfigErrorCode.notFound);
  assert.equal(err.file, join(dir, 'b.yml'));
});

test('a pki value that is not a string is an error', (t) => {
  const dir = configDir(t, { 'c.yml': 'pki:\n  ca: 5\n  cert: host.crt\n  key: host.key\n' });
  const err = loadError(join(dir, 'c.yml'));
  assert.equal(err.message, `${join(dir, 'c.yml')}:2: pki.ca: expected a string, got 5`);
});

test('an empty file and a comments-only file are errors naming the file', (t) => {
  const dir = configDir(t, { 'empty.yml': '', 'comments.yml': '# nothing here\n\n' });
  for (const name of ['empty.yml', 'comments.yml']) {
    const err = loadError(join(dir, name));
    assert.equal(err.code, ConfigErrorCode.empty);
    assert.equal(err.file, join(dir, name));
  }
});

test('a YAML syntax error names the file and line', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}listen:\n  port: [4242\n` });
  const err = loadError(join(dir, 'c.yml'));
  assert.equal(err.code, ConfigErrorCode.syntax);
  assert.equal(err.file, join(dir, 'c.yml'));
  assert.ok(err.line !== undefined && err.line >= 6, `line ${err.line}`);
  assert.match(err.message, /YAML syntax error/);
});

test('a duplicated key is a syntax error on the duplicate line', (t) => {
  const dir = configDir(t, { 'c.yml': `${PKI_YAML}cipher: aes\ncipher: chachapoly\n` });
  const err = loadError(join(dir, 'c.yml'));
  assert.equal(err.code, ConfigErrorCode.syntax);
  assert.equal(err.line, 6);
});

test('a top level that is not a map is an error', (t) => {
  const dir = configDir(t, { 'c.yml': '- a\n- b\n' });
  assert.equal(loadError(join(dir, 'c.yml')).code, ConfigErrorCode.type);
});
