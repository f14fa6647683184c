// `mesh status`: who is up and by which path. Built from the node's tables at the moment of asking, with RTTs from
// a round of probes sent just before (so a person sees a current figure, not the one from the last ping).

import { anyFingerprint, type AnyCertificate } from '../cert/index.js';
import { formatCidr } from '../ip/ipv4.js';
import { formatIpPrefix } from '../ip/prefix.js';
import { compareVpnIp, formatVpnIp } from '../ip/vpn-ip.js';
import { localAddresses } from '../lighthouse/local-addresses.js';
import { addrText, lighthouseIps, pathOf, tunnels, type ControlledNode } from './node-view.js';
import type { LighthouseStatus, PeerStatus, StatusReport } from './reports.js';
import type { RttProbes } from './rtt-probes.js';

/** A lighthouse we heard from within this long counts as reachable (several update intervals). */
const LIGHTHOUSE_SILENCE_MS = 60_000;

function isoFromSeconds(s: number): string {
  return new Date(s * 1000).toISOString();
}

/** Clock time (monotonic ms) to wall-clock ISO time. */
function wallTime(node: ControlledNode, clockMs: number): string {
  return new Date(Date.now() - (node.clock.now() - clockMs)).toISOString();
}

function safeFingerprint(cert: AnyCertificate): string {
  try {
    return anyFingerprint(cert);
  } catch {
    return '';
  }
}

/** Sends one probe to every peer and waits for all of them, at most `timeoutMs`. */
export async function probeAll(node: ControlledNode, probes: RttProbes, timeoutMs: number): Promise<void> {
  if (timeoutMs <= 0) return;
  await Promise.allSettled(tunnels(node).map((h) => probes.probe(h, timeoutMs)));
}

export function buildStatus(node: ControlledNode, probes: RttProbes): StatusReport {
  const now = node.clock.now();
  const id = node.identity();
  const config = node.currentConfig();
  const peers: PeerStatus[] = tunnels(node)
    .sort((a, b) => compareVpnIp(a.vpnIp, b.vpnIp))
    .map((h) => ({
      name: h.certName,
      vpnIp: formatVpnIp(h.vpnIp),
      vpnAddrs: h.vpnAddrs.map(formatVpnIp),
      ...pathOf(node, h),
      rttMs: probes.lastRtt(h.vpnIp)?.rttMs ?? null,
      handshakeAt: wallTime(node, h.createdAt),
      lastRecvAgoMs: Math.max(0, Math.round(now - h.lastRecvAt)),
      bytesIn: h.bytesIn,
      bytesOut: h.bytesOut,
      packetsIn: h.packetsIn,
      packetsOut: h.packetsOut,
      certExpiresAt: isoFromSeconds(h.cert.details.notAfter),
      fingerprint: h.fingerprint,
      initiator: h.initiator,
      localIndex: h.localIndex,
      remoteIndex: h.remoteIndex,
    }));
  const lighthouses: LighthouseStatus[] = lighthouseIps(node).map((ip) => {
    const h = node.hostmap.byVpnIp.get(ip);
    const ago = h ? Math.max(0, Math.round(now - h.lastRecvAt)) : null;
    return {
      vpnIp: formatVpnIp(ip),
      name: h?.certName ?? null,
      reachable: ago !== null && ago < LIGHTHOUSE_SILENCE_MS,
      remote: h?.remote ? addrText(h.remote) : null,
      lastRecvAgoMs: ago,
    };
  });
  const pending = [...node.handshakes.pending.entries()].map(([ip, p]) => ({
    vpnIp: formatVpnIp(ip),
    attempts: p.attempts,
    ageMs: Math.max(0, Math.round(now - p.startedAt)),
  }));
  const port = node.udp.localPort;
  // An identity built by hand (tests) may have no networks list: its IPv4 network is the one.
  const vpnCidrs = id.vpnNetworks?.length
    ? id.vpnNetworks.map(formatIpPrefix)
    : [formatCidr({ ip: id.vpnIp as number, mask: id.vpnNet.mask })];
  return {
    self: {
      name: id.cert.details.name,
      vpnIp: formatVpnIp(id.vpnIp),
      vpnCidr: vpnCidrs[0] ?? '',
      vpnCidrs,
      listenPort: port,
      addresses: localAddresses({ port, vpnNet: id.vpnNet, vpnNetworks: id.vpnNetworks, advertise: [] }).map(addrText),
      lighthouse: config.lighthouse.amLighthouse,
      relay: config.relay.amRelay,
      certExpiresAt: isoFromSeconds(id.cert.details.notAfter),
      // The certificate our handshakes start with, of its own version (id.cert is a v2 one's IPv4 view).
      fingerprint: safeFingerprint((id.initiatingVersion === 2 ? id.certs?.v2 : id.certs?.v1) ?? id.cert),
      ...(node.tcp?.fallback ? { transport: node.tcp.fallback.transport } : {}),
    },
    peers,
    pending,
    lighthouses,
    portmap: node.portMapReport?.() ?? null,
  };
}
