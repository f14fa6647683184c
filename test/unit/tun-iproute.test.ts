import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { deviceMtu, planIpCommands, runIpPlan } from '../../pkg/tun/iproute.js';

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
  assert.deepEqual(plan.map((c) => c.optional ?? false), [false, true, false, false, false]);
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
  assert.equal(lines[4], 'route replace 10.200.0.0/24 dev mesh1 mtu 1300 advmss 1260 scope link src 10.200.0.1 proto kernel');
  assert.equal(lines[5], 'route replace 10.200.0.128/25 dev mesh1 mtu 8800 scope link');
});

test('unsafe routes carry their metric and default to the tun MTU; CIDR text and host bits are normalised', () => {
  const lines = planIpCommands('mesh1', {
    mtu: 1300,
    address,
    unsafeRoutes: [
      { route: '192.168.77.9/24', mtu: 1100, metric: 50 },
      { route: parseCidr('172.16.0.0/12') },
    ],
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
  assert.deepEqual(lines.slice(5), ['route replace 192.168.78.0/24 dev mesh1 mtu 1300 scope link', 'route replace 192.168.79.0/24 dev mesh1 mtu 1300 scope link']);
});

// Read-only commands on this host: `ip link show` changes nothing, and the missing device only makes a line fail.
const MISSING = `nosuch${process.pid}`;

test('one ip batch tolerates a failed optional command but fails naming the required one that failed', async () => {
  await runIpPlan([
    { args: ['link', 'show', 'dev', MISSING], optional: true },
    { args: ['link', 'show', 'dev', 'lo'] },
  ]);
  await assert.rejects(
    runIpPlan([
      { args: ['link', 'show', 'dev', 'lo'] },
      { args: ['link', 'show', 'dev', MISSING] },
    ]),
    (err: Error & { code?: string }) => err.code === 'ETUNCONFIG' && err.message.includes(`link show dev ${MISSING}`) && !err.message.includes('dev lo;'),
  );
});
