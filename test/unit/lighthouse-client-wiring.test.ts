import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { MeshConfig } from '../../pkg/config/index.js';
import { LighthouseClientWiring } from '../../pkg/daemon/lighthouse-client-wiring.js';
import type { MeshNode } from '../../pkg/daemon/node.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, type UdpAddr } from '../../pkg/udp/addr.js';

// The lighthouse client's wiring reads the node's config at each call: lighthouse.advertise_addrs included, which
// Nebula 1.6.1 reloads too. A node stand-in whose config a test replaces, as a reload does.

function stubNode(advertise: string[]) {
  const lines: string[] = [];
  let config = { lighthouse: { advertiseAddrs: advertise } } as unknown as MeshConfig;
  const node = {
    counters: new Counters(),
    hostmap: new HostMap(),
    log: new Logger('info', 'text', (line) => lines.push(line), true),
    portMap: null,
    currentConfig: () => config,
    // The interface addresses are left out: only what is advertised is reported.
    ownAddresses: (advertised: UdpAddr[]) => advertised,
  };
  const reload = (next: string[]): void => {
    config = { lighthouse: { advertiseAddrs: next } } as unknown as MeshConfig;
  };
  return { node: node as unknown as MeshNode, lines, reload };
}

const reported = (w: LighthouseClientWiring) => w.ownAddresses().map(addrKey);

test('a reload that changes lighthouse.advertise_addrs changes what the next update reports', () => {
  const { node, lines, reload } = stubNode(['203.0.113.1:4242']);
  const wiring = new LighthouseClientWiring(node);
  assert.deepEqual(reported(wiring), ['203.0.113.1:4242']);
  reload(['203.0.113.1:4242']);
  assert.deepEqual(reported(wiring), ['203.0.113.1:4242']);
  assert.equal(lines.filter((l) => l.includes('has changed')).length, 0, 'the same entries: nothing changed');
  reload(['203.0.113.2:4243', '[2001:db8::2]:4242']);
  assert.deepEqual(reported(wiring), ['203.0.113.2:4243', '[2001:db8::2]:4242']);
  assert.equal(lines.filter((l) => l.includes('lighthouse.advertise_addrs has changed')).length, 1);
  reload([]);
  assert.deepEqual(reported(wiring), []);
});

test('a bad advertise_addrs entry is warned about once per config that has it, not at every update', () => {
  const { node, lines, reload } = stubNode(['203.0.113.1:4242', 'not-an-address']);
  const wiring = new LighthouseClientWiring(node);
  for (let i = 0; i < 3; i++) assert.deepEqual(reported(wiring), ['203.0.113.1:4242']);
  const warned = () => lines.filter((l) => l.includes('Ignoring lighthouse.advertise_addrs entry')).length;
  assert.equal(warned(), 1);
  reload(['not-an-address']);
  for (let i = 0; i < 3; i++) assert.deepEqual(reported(wiring), []);
  assert.equal(warned(), 2);
});
