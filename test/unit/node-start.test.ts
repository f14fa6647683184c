import { test } from 'node:test';
import assert from 'node:assert/strict';

import { systemClock } from '../../pkg/clock/clock.js';
import { validateConfig } from '../../pkg/config/index.js';
import { localNets } from '../../pkg/daemon/firewall-setup.js';
import { MeshNode } from '../../pkg/daemon/node.js';
import { Firewall, parseFirewallRules } from '../../pkg/firewall/firewall.js';
import { Logger } from '../../pkg/log/logger.js';
import { MemoryNetwork } from '../../pkg/udp/memory-udp.js';
import { makeHostCert, makeTestCa, testPki } from './helpers/pki.js';

const ALLOW_ALL = {
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [{ port: 'any', proto: 'any', host: 'any' }],
};

// The TUN is configured while the lighthouse handshake already runs; a TUN that cannot be set up must still fail the
// start with its own error and leave nothing running (the socket closed, no timers keeping the process alive).
test(
  'a node whose TUN cannot be opened fails to start with the TUN error and closes its socket',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async () => {
    const ca = makeTestCa();
    const cert = makeHostCert(ca, { name: 'a', ip: '10.90.0.1/24' });
    const raw = {
      pki: { ca: ca.pem, cert: cert.certPem, key: cert.keyPem },
      static_host_map: { '10.90.0.9': ['198.18.90.9:4242'] },
      lighthouse: { hosts: ['10.90.0.9'] },
      // Longer than IFNAMSIZ - 1: the kernel refuses the name.
      tun: { dev: `meshtoolongname${process.pid}` },
      firewall: ALLOW_ALL,
    };
    const { config } = validateConfig(raw, undefined, 'a.yml');
    const pki = testPki(cert, [ca]);
    const net = new MemoryNetwork();
    const udp = net.bind('198.18.90.1', 4242);
    let closed = false;
    const close = udp.close.bind(udp);
    udp.close = async () => {
      closed = true;
      return close();
    };
    await assert.rejects(
      MeshNode.start({
        config,
        pki,
        firewall: new Firewall(parseFirewallRules(config.firewall), { clock: systemClock, localNets: localNets(pki) }),
        staticHosts: new Map(),
        log: new Logger('error', 'text', () => undefined, true),
        udp,
        watchAddresses: false,
      }),
      (err: Error & { code?: string }) => /^ETUN/.test(err.code ?? ''),
    );
    assert.equal(closed, true);
  },
);
