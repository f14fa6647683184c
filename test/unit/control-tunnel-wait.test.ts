// mesh ping / netcheck wait for a tunnel through the hostmap's installed events on the node's clock
// (pkg/control/node-view.ts tunnelTo), not by polling the hostmap with real timers.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { tunnelTo, type ControlledNode } from '../../pkg/control/node-view.js';
import type { LocalIdentity } from '../../pkg/handshake/identity.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';

function node(clock: ManualClock, started: string[]): ControlledNode {
  const identity = {
    vpnIp: parseVpnIp('10.99.0.1'),
    vpnAddrs: [parseVpnIp('10.99.0.1'), 'fd00::1'],
    vpnNetworks: [parseIpPrefix('10.99.0.1/24'), parseIpPrefix('fd00::1/64')],
  } as unknown as LocalIdentity;
  return {
    clock,
    hostmap: new HostMap(),
    handshakes: { pending: new Map(), start: (ip: unknown) => void started.push(String(ip)) },
    identity: () => identity,
  } as unknown as ControlledNode;
}

function host(addrs: Array<string | number>, index: number): HostInfo {
  return { vpnIp: addrs[0], vpnAddrs: addrs, localIndex: index, remoteIndex: index + 1000 } as unknown as HostInfo;
}

const turn = (): Promise<'turn'> => new Promise((resolve) => setImmediate(() => resolve('turn')));

test('a tunnel installed for any of the peer address resolves the wait at once, without a timer', async () => {
  const clock = new ManualClock();
  const started: string[] = [];
  const n = node(clock, started);
  const waiting = tunnelTo(n, 'fd00::2', 5000);
  assert.deepEqual(started, ['fd00::2']);
  n.hostmap.add(host([parseVpnIp('10.99.0.9')], 1)); // another peer: not ours
  const peer = host([parseVpnIp('10.99.0.2'), 'fd00::2'], 2);
  n.hostmap.add(peer);
  assert.equal(await Promise.race([waiting, turn()]), peer, 'resolved in the same turn as the install');
});

test('no tunnel: the wait ends with a timeout when the node clock says so', async () => {
  const clock = new ManualClock();
  const n = node(clock, []);
  const waiting = tunnelTo(n, parseVpnIp('10.99.0.3'), 2000);
  const outcome = waiting.then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  clock.advance(1999);
  assert.equal(await Promise.race([outcome, turn()]), 'turn', 'still waiting before the timeout');
  clock.advance(1);
  assert.match(await Promise.race([outcome, turn()]), /no tunnel to 10\.99\.0\.3 after 2000 ms/);
});
