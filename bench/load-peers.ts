// A load generator for resources.ts: many in-process mesh peers, each with its own certificate and UDP socket,
// that each open one tunnel to one target node (mesh or nebula). Runs inside a lab namespace:
//
//   node dist/bench/load-peers.js SPEC.json
//
// SPEC: { caPem, caKeyHex, target: { vpnIp, addr }, firstIp, prefix, steps: [100, 1000] }. For each step it adds
// peers until that many tunnels are up, sends one test request through each, prints "up <n>" and waits for
// SIGUSR2 before the next step, so the caller can measure the target in between. After the last step the peers keep their tunnels until SIGTERM.

import { readFileSync } from 'node:fs';

import { validateConfig } from '../pkg/config/index.js';
import { localNets } from '../pkg/daemon/firewall-setup.js';
import { MeshNode } from '../pkg/daemon/node.js';
import { resolveStaticHosts } from '../pkg/daemon/static-hosts.js';
import { Firewall, parseFirewallRules } from '../pkg/firewall/firewall.js';
import { formatIpv4, parseIpv4 } from '../pkg/ip/ipv4.js';
import { Logger } from '../pkg/log/logger.js';
import { systemClock } from '../pkg/clock/clock.js';
import { DgramConn } from '../pkg/udp/udp-conn.js';
import { makeHostCert, testCaFrom, testPki, type TestCa } from '../test/unit/helpers/pki.js';

interface Spec {
  caPem: string;
  caKeyHex: string;
  target: { vpnIp: string; addr: string };
  /** First peer address, e.g. "10.100.1.0"; peers count up from it. */
  firstIp: string;
  prefix: number;
  steps: number[];
}

const ALLOW_ALL = {
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [{ port: 'any', proto: 'any', host: 'any' }],
};
const CHUNK = 25;

async function startPeer(spec: Spec, ca: TestCa, index: number): Promise<MeshNode> {
  const vpnIp = formatIpv4(parseIpv4(spec.firstIp) + index);
  const cert = makeHostCert(ca, { name: `peer${index}`, ip: `${vpnIp}/${spec.prefix}` });
  const raw = {
    pki: { ca: ca.pem, cert: cert.certPem, key: cert.keyPem },
    static_host_map: { [spec.target.vpnIp]: [spec.target.addr] },
    listen: { host: '0.0.0.0', port: 0 },
    tun: { disabled: true },
    punchy: { punch: false },
    firewall: ALLOW_ALL,
    logging: { level: 'error' },
  };
  const { config } = validateConfig(raw, undefined, `peer${index}.yml`);
  const pki = testPki(cert, [ca]);
  const firewall = new Firewall(parseFirewallRules(config.firewall), { clock: systemClock, localNets: localNets(pki) });
  const staticHosts = await resolveStaticHosts(config.staticHostMap, pki.identity.vpnNetworks);
  const log = new Logger('error', 'text', () => undefined, true);
  // node:dgram here: a thousand batched sockets would each hold a 590 KB receive buffer in this process.
  const udp = await DgramConn.open({ host: '0.0.0.0', port: 0 });
  const node = await MeshNode.start({ config, pki, firewall, staticHosts, log, udp, tun: null, watchAddresses: false });
  node.handshakes.start(parseIpv4(spec.target.vpnIp));
  return node;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Spec;
  const ca = testCaFrom(spec.caPem, Buffer.from(spec.caKeyHex, 'hex'));
  const target = parseIpv4(spec.target.vpnIp);
  const peers: MeshNode[] = [];
  const proceed = (): Promise<void> => new Promise((resolve) => process.once('SIGUSR2', () => resolve()));
  process.once('SIGTERM', () => process.exit(0));
  const up = (): number => peers.filter((p) => p.hostmap.byVpnIp.has(target)).length;

  for (const step of spec.steps) {
    while (peers.length < step) {
      const chunk = Math.min(CHUNK, step - peers.length);
      const started = await Promise.all(Array.from({ length: chunk }, (_, i) => startPeer(spec, ca, peers.length + i)));
      peers.push(...started);
      // Pace the handshakes so the target is never flooded past its retry window.
      const deadline = Date.now() + 20_000;
      while (up() < peers.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    const deadline = Date.now() + 30_000;
    while (up() < step && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Each tunnel carries one authenticated packet, as a tunnel opened for traffic would; it also tells the target
    // that its handshake answer arrived (so it can drop the copy kept for retransmits).
    for (const p of peers) {
      const host = p.hostmap.byVpnIp.get(target);
      if (host) p.sendTestRequest(host);
    }
    const next = proceed();
    console.log(`up ${up()}`);
    await next;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
