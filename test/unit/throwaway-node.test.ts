import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as cert from '../../pkg/cert/index.js';
import { ManualClock } from '../../pkg/clock/clock.js';
import * as config from '../../pkg/config/index.js';
import * as firewallSetup from '../../pkg/daemon/firewall-setup.js';
import * as staticHosts from '../../pkg/daemon/static-hosts.js';
import { throwawayCa, throwawayNodeSetup, type NodeSetupModules } from '../../pkg/daemon/throwaway-node.js';
import * as firewall from '../../pkg/firewall/firewall.js';
import * as identity from '../../pkg/handshake/identity.js';
import * as ipv4 from '../../pkg/ip/ipv4.js';
import { Logger } from '../../pkg/log/logger.js';
import { MemoryNetwork } from '../../pkg/udp/memory-udp.js';

// A throwaway node's set-up (pkg/daemon/throwaway-node.ts) is made of the modules it is handed, never of its own
// imports: the in-process benches hand it an older build's modules to compare builds in one process, and a node
// made of two builds' classes would measure neither.

class MarkedCaPool extends cert.CaPool {}
class MarkedFirewall extends firewall.Firewall {}
const MODULES: NodeSetupModules = {
  cert: { ...cert, CaPool: MarkedCaPool },
  config,
  firewall: { ...firewall, Firewall: MarkedFirewall },
  identity,
  firewallSetup,
  staticHosts,
  ipv4,
};

test('the set-up is made of the modules handed to it, its CA valid an hour either side of the time given', async () => {
  const unixMs = Date.UTC(2026, 0, 1);
  const ca = throwawayCa(MODULES, 'test CA', unixMs);
  assert.equal(ca.cert.details.notBefore, unixMs / 1000 - 3600);
  assert.equal(ca.cert.details.notAfter, unixMs / 1000 + 3600);
  const udp = new MemoryNetwork().bind('127.0.0.1', 4242);
  const setup = await throwawayNodeSetup(MODULES, ca, {
    name: 'throwaway 100.127.255.1',
    vpnCidr: '100.127.255.1/30',
    settings: { static_host_map: { '100.127.255.2': ['127.0.0.1:4243'] }, listen: { host: '127.0.0.1', port: 4242 } },
    source: 'throwaway.yml',
    udp,
    clock: new ManualClock(),
    log: new Logger('error', 'text', () => {}),
  });
  assert.ok(setup.pki.caPool instanceof MarkedCaPool, "the CA pool is the handed module's class");
  assert.ok(setup.firewall instanceof MarkedFirewall, "the firewall is the handed module's class");
  assert.equal(setup.pki.identity.cert.details.name, 'throwaway 100.127.255.1');
  assert.equal(setup.pki.identity.cert.details.notAfter, ca.cert.details.notAfter, 'the node lives as long as its CA');
  assert.equal(setup.config.listen.port, 4242, 'the settings are in the config');
  assert.equal(setup.staticHosts.size, 1);
  assert.equal(setup.udp, udp);
});

test('the compiled module imports nothing at run time (types only), so no other build sneaks in', () => {
  const js = readFileSync(new URL('../../pkg/daemon/throwaway-node.js', import.meta.url), 'utf8');
  assert.deepEqual(js.match(/^\s*import\b.*$/gm) ?? [], []);
  assert.doesNotMatch(js, /\bimport\(|\brequire\(/);
});
