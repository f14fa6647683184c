import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { formatIpPrefix, parseIpPrefix } from '../../pkg/ip/prefix.js';
import { deviceMtu, planIpCommands, runIpPlan, tunNetworks } from '../../pkg/tun/iproute.js';
import { ipv6ConfPath } from '../../pkg/tun/ipv6-sysctl.js';

const address = parseCidr('10.200.0.1/24');

test('a plain device gets its MTU, queue length, address, link up and the network route with the MTU', () => {
  const plan = planIpCommands('mesh1', { mtu: 1300, address });
  assert.deepEqual(
    plan.map((c) => c.args.join(' ')),
    [
      'link set dev mesh1 mtu 1300 txqueuelen 500',
      'link set dev mesh1 addrgenmode none',
      'addr replace 10.200.0.1/24 dev mesh1',
      'link set dev mesh1 up',
      'route replace 10.200.0.0/24 dev mesh1 mtu 1300 scope link src 10.200.0.1 proto kernel',
    ],
  );
  assert.deepEqual(
    plan.map((c) => c.optional ?? false),
    [false, true, false, false, false],
  );
});

test('the device MTU is the largest route MTU, and routes below it advertise MSS = MTU - 40', () => {
  const cfg = {
    mtu: 1300,
    address,
    txQueueLen: 1000,
    routes: [{ route: parseCidr('10.200.0.128/25'), mtu: 8800 }],
  };
  assert.equal(deviceMtu(cfg), 8800);
  const lines = planIpCommands('mesh1', cfg).map((c) => c.args.join(' '));
  assert.equal(lines[0], 'link set dev mesh1 mtu 8800 txqueuelen 1000');
  assert.equal(
    lines[4],
    'route replace 10.200.0.0/24 dev mesh1 mtu 1300 advmss 1260 scope link src 10.200.0.1 proto kernel',
  );
  assert.equal(lines[5], 'route replace 10.200.0.128/25 dev mesh1 mtu 8800 scope link');
});

test('unsafe routes carry their metric and default to the tun MTU; CIDR text and host bits are normalised', () => {
  const lines = planIpCommands('mesh1', {
    mtu: 1300,
    address,
    unsafeRoutes: [{ route: '192.168.77.9/24', mtu: 1100, metric: 50 }, { route: parseCidr('172.16.0.0/12') }],
  }).map((c) => c.args.join(' '));
  assert.equal(lines[5], 'route replace 192.168.77.0/24 dev mesh1 mtu 1100 advmss 1060 scope link metric 50');
  assert.equal(lines[6], 'route replace 172.16.0.0/12 dev mesh1 mtu 1300 scope link');
});

test('an unsafe route with install: false (Nebula 1.7+) is left out of the system table; install: true is as absent', () => {
  const lines = planIpCommands('mesh1', {
    mtu: 1300,
    address,
    unsafeRoutes: [
      { route: '192.168.77.0/24', install: false },
      { route: '192.168.78.0/24', install: true },
      { route: '192.168.79.0/24' },
    ],
  }).map((c) => c.args.join(' '));
  assert.deepEqual(lines.slice(5), [
    'route replace 192.168.78.0/24 dev mesh1 mtu 1300 scope link',
    'route replace 192.168.79.0/24 dev mesh1 mtu 1300 scope link',
  ]);
});

// Read-only commands on this host: `ip link show` changes nothing, and the missing device only makes a line fail.
const MISSING = `nosuch${process.pid}`;

test('one ip batch tolerates a failed optional command but fails naming the required one that failed', async () => {
  await runIpPlan([
    { args: ['link', 'show', 'dev', MISSING], optional: true },
    { args: ['link', 'show', 'dev', 'lo'] },
  ]);
  await assert.rejects(
    runIpPlan([{ args: ['link', 'show', 'dev', 'lo'] }, { args: ['link', 'show', 'dev', MISSING] }]),
    (err: Error & { code?: string }) =>
      err.code === 'ETUNCONFIG' && err.message.includes(`link show dev ${MISSING}`) && !err.message.includes('dev lo;'),
  );
});

const dualStack = ['10.200.0.1/24', 'fd00::1/64', 'fd01:0:0:0:0:0:0:5/112'].map((t) => parseIpPrefix(t));

test('every network of the certificate gets its address and its connected route; IPv6 ones keep the kernel metric 256', () => {
  const plan = planIpCommands('mesh1', { mtu: 1300, networks: dualStack });
  assert.deepEqual(
    plan.map((c) => c.args.join(' ')),
    [
      'link set dev mesh1 mtu 1300 txqueuelen 500',
      'link set dev mesh1 addrgenmode none',
      'addr replace 10.200.0.1/24 dev mesh1',
      'addr replace fd00::1/64 dev mesh1',
      'addr replace fd01::5/112 dev mesh1',
      'link set dev mesh1 up',
      'route replace 10.200.0.0/24 dev mesh1 mtu 1300 scope link src 10.200.0.1 proto kernel',
      'route replace fd00::/64 dev mesh1 mtu 1300 scope link proto kernel metric 256',
      'route replace fd01::/112 dev mesh1 mtu 1300 scope link proto kernel metric 256',
    ],
  );
  assert.deepEqual(tunNetworks({ mtu: 1300, networks: dualStack }), dualStack);
});

test('an IPv6-only host needs no IPv4 address; the legacy single IPv4 address still works alone', () => {
  const v6 = planIpCommands('mesh1', { mtu: 1280, networks: [parseIpPrefix('fd00::7/64')] }).map((c) =>
    c.args.join(' '),
  );
  assert.ok(v6.includes('addr replace fd00::7/64 dev mesh1'));
  assert.ok(!v6.some((l) => /\d+\.\d+\.\d+\.\d+/.test(l)));
  assert.deepEqual(
    tunNetworks({ mtu: 1300, address }).map((n) => formatIpPrefix(n)),
    ['10.200.0.1/24'],
  );
  assert.throws(
    () => planIpCommands('mesh1', { mtu: 1300, networks: [] }),
    (e: Error & { code?: string }) => e.code === 'ETUNCONFIG',
  );
});

test('IPv6 routes and unsafe routes of any MTU: host bits cleared, MSS = MTU - 60 below the device MTU, metric kept', () => {
  const lines = planIpCommands('mesh1', {
    mtu: 1300,
    networks: dualStack,
    routes: [{ route: parseIpPrefix('fd00::8000:0:0:1/65'), mtu: 1280 }],
    unsafeRoutes: [
      { route: 'fd77::1/48', mtu: 1400, metric: 50 },
      { route: 'fd78::/64', mtu: 1290 },
      { route: 'fd79::/64', install: false },
    ],
  }).map((c) => c.args.join(' '));
  assert.equal(lines[0], 'link set dev mesh1 mtu 1400 txqueuelen 500');
  assert.deepEqual(lines.slice(6), [
    'route replace 10.200.0.0/24 dev mesh1 mtu 1300 advmss 1260 scope link src 10.200.0.1 proto kernel',
    'route replace fd00::/64 dev mesh1 mtu 1300 advmss 1240 scope link proto kernel metric 256',
    'route replace fd01::/112 dev mesh1 mtu 1300 advmss 1240 scope link proto kernel metric 256',
    'route replace fd00::8000:0:0:0/65 dev mesh1 mtu 1280 advmss 1220 scope link',
    'route replace fd77::/48 dev mesh1 mtu 1400 scope link metric 50',
    'route replace fd78::/64 dev mesh1 mtu 1290 advmss 1230 scope link',
  ]);
});

test("the accept_ra sysctl path is the device's own and refuses names that would leave its directory", () => {
  assert.equal(ipv6ConfPath('mesh1', 'accept_ra'), '/proc/sys/net/ipv6/conf/mesh1/accept_ra');
  for (const bad of ['', '.', '..', '../all', 'a/b']) assert.throws(() => ipv6ConfPath(bad, 'accept_ra'), RangeError);
});

test('an IPv6 network or route below the IPv6 minimum MTU of 1280 is refused with a message naming it; IPv4 alone may go lower', () => {
  const refused = (cfg: Parameters<typeof planIpCommands>[1], what: RegExp): void =>
    assert.throws(
      () => planIpCommands('mesh1', cfg),
      (e: Error & { code?: string }) => e.code === 'ETUNCONFIG' && what.test(e.message),
    );
  refused({ mtu: 1279, networks: dualStack }, /IPv6 overlay needs tun\.mtu >= 1280, got 1279/);
  refused(
    { mtu: 1300, networks: dualStack, routes: [{ route: 'fd00:cb::/64', mtu: 1200 }] },
    /route fd00:cb::\/64 needs an MTU >= 1280, got 1200/,
  );
  refused(
    { mtu: 1300, networks: [parseIpPrefix('10.1.0.1/16')], unsafeRoutes: [{ route: 'fd77::/48', mtu: 1279 }] },
    /fd77::\/48/,
  );
  assert.equal(
    planIpCommands('mesh1', { mtu: 1280, networks: dualStack, routes: [{ route: 'fd00:cb::/64' }] }).length,
    10,
  );
  assert.ok(
    planIpCommands('mesh1', {
      mtu: 576,
      networks: [parseIpPrefix('10.1.0.1/16')],
      routes: [{ route: '10.2.0.0/16', mtu: 500 }],
    }),
  );
});
