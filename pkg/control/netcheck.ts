// `mesh netcheck`: asks every lighthouse, in parallel, where it sees us (whoami) and how long a round trip takes,
// then classifies the NAT from the answers (nat-verdict.ts). A lighthouse without a tunnel gets a handshake first.
// The node's NAT tests against a lighthouse's second port (punchy/nat-discovery.ts) add mapping and filtering from a
// single lighthouse: the last measurement, or the one under way.

import { formatVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { localAddresses } from '../lighthouse/local-addresses.js';
import { classifyNat } from './nat-verdict.js';
import { addrText, lighthouseIps, tunnelTo, type ControlledNode } from './node-view.js';
import type { LighthouseObservation, NetcheckReport } from './reports.js';
import type { RttProbes } from './rtt-probes.js';
import type { Whoami } from './whoami.js';

async function observe(
  node: ControlledNode,
  probes: RttProbes,
  whoami: Whoami,
  ip: VpnIp,
  timeoutMs: number,
): Promise<LighthouseObservation> {
  const obs: LighthouseObservation = {
    vpnIp: formatVpnIp(ip),
    name: null,
    underlay: null,
    tunnel: false,
    rttMs: null,
    seenAs: null,
  };
  let host;
  try {
    host = await tunnelTo(node, ip, timeoutMs);
  } catch {
    return obs;
  }
  obs.tunnel = true;
  obs.name = host.certName;
  obs.underlay = host.remote ? addrText(host.remote) : null;
  if (node.tcp?.fallback?.isAttached(ip)) {
    obs.overTcp = true;
    obs.underlay = `${obs.underlay ?? '-'} (tcp)`;
  }
  const [rtt, seen] = await Promise.allSettled([probes.probe(host, timeoutMs), whoami.ask(host, timeoutMs)]);
  if (rtt.status === 'fulfilled') obs.rttMs = rtt.value.rttMs;
  if (seen.status === 'fulfilled' && seen.value.length > 0) obs.seenAs = addrText(seen.value[0]);
  return obs;
}

export async function runNetcheck(
  node: ControlledNode,
  probes: RttProbes,
  whoami: Whoami,
  timeoutMs: number,
): Promise<NetcheckReport> {
  const id = node.identity();
  const port = node.udp.localPort;
  const locals = localAddresses({ port, vpnNet: id.vpnNet, vpnNetworks: id.vpnNetworks, advertise: [] });
  const [lighthouses, natTest] = await Promise.all([
    Promise.all(lighthouseIps(node).map((ip) => observe(node, probes, whoami, ip, timeoutMs))),
    node.natTests?.measured(timeoutMs) ?? Promise.resolve(null),
  ]);
  const verdict = classifyNat({
    localPort: port,
    localIps: locals.map((a) => a.address),
    observations: lighthouses,
    natTest,
  });
  return {
    localPort: port,
    localAddresses: locals.map(addrText),
    lighthouses,
    verdict,
    portmap: node.portMapReport?.() ?? null,
  };
}
