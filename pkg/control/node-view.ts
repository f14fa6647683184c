// What the control commands read from a running node. MeshNode satisfies it; naming only these members keeps the
// commands honest about what they touch (everything here is read, except closeTunnel and starting a handshake).

import { after, type Clock } from '../clock/clock.js';
import type { PortMapReport } from '../portmap/node-portmap.js';
import type { MeshConfig } from '../config/index.js';
import type { LocalIdentity } from '../handshake/identity.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HostMap } from '../hostmap/hostmap.js';
import { formatVpnIp, parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { inNetworks } from '../lighthouse/overlay-networks.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpConn } from '../udp/udp-conn.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import { ControlError, ControlErrorCode } from './protocol.js';
import type { PathKind } from './reports.js';
import type { NatTestResult } from '../punchy/nat-discovery.js';

interface TcpFallbackView {
  readonly transport: 'udp' | 'tcp';
  isAttached(vpnIp: VpnIp): boolean;
}

interface RelayEntryView {
  readonly terminal: boolean;
  readonly hopIp: VpnIp;
  readonly state: string;
}

export interface ControlledNode {
  readonly clock: Clock;
  readonly counters: Counters;
  readonly hostmap: HostMap;
  readonly handshakes: {
    readonly pending: ReadonlyMap<VpnIp, { readonly attempts: number; readonly startedAt: number }>;
    start(vpnIp: VpnIp): unknown;
  };
  readonly relays: {
    readonly table: {
      readonly byIndex: ReadonlyMap<number, RelayEntryView>;
      terminalFor(peerIp: VpnIp): RelayEntryView | undefined;
    };
  };
  readonly udp: UdpConn;
  identity(): LocalIdentity;
  currentConfig(): MeshConfig;
  closeTunnel(host: HostInfo, reason: string, notifyPeer: boolean): void;
  /** Port mapping on the gateway (portmap/node-portmap.ts); null or absent when it is off. */
  portMapReport?(): PortMapReport | null;
  /** The TCP fallback (daemon/tcp-transport.ts); null or absent when the node has none. */
  readonly tcp?: { readonly fallback: TcpFallbackView | null } | null;
  /** NAT tests against a lighthouse's second port (daemon/nat-tests.ts). */
  readonly natTests?: { measured(timeoutMs: number): Promise<NatTestResult | null> } | null;
}

/** The configured lighthouses (none on a lighthouse itself, as the node treats it). */
export function lighthouseIps(node: ControlledNode): VpnIp[] {
  const c = node.currentConfig().lighthouse;
  return c.amLighthouse ? [] : c.hosts.map((h) => parseVpnIp(h));
}

/**
 * Every tunnel once (HostMap.byPrimary): byVpnIp holds a tunnel under each of its overlay addresses, so its values
 * repeat a dual-stack host.
 */
export function tunnels(node: ControlledNode): HostInfo[] {
  return [...node.hostmap.byPrimary.values()];
}

export function pathOf(
  node: ControlledNode,
  host: HostInfo,
): { path: PathKind; remote: string | null; via: string | null; overTcp?: boolean } {
  // Over TCP (docs/tcp-fallback.md): a peer attached to our TCP listener, or a server we reach over our own link.
  if (host.remote && isTcpAddr(host.remote))
    return { path: 'direct', remote: host.remote.address, via: null, overTcp: true };
  if (host.remote) return { path: 'direct', remote: addrText(host.remote), via: null, ...overTcp(node, host.vpnIp) };
  const entry = host.relayVia ?? terminalFor(node, host);
  return {
    path: 'relayed',
    remote: null,
    via: entry ? formatVpnIp(entry.hopIp) : null,
    ...(entry ? overTcp(node, entry.hopIp) : {}),
  };
}

/** The relay to `host` under any of its addresses (it was asked for by the one we handshook to). */
function terminalFor(node: ControlledNode, host: HostInfo): RelayEntryView | undefined {
  for (const a of host.vpnAddrs) {
    const entry = node.relays.table.terminalFor(a);
    if (entry) return entry;
  }
  return undefined;
}

function overTcp(node: ControlledNode, vpnIp: VpnIp): { overTcp?: true } {
  return node.tcp?.fallback?.isAttached(vpnIp) ? { overTcp: true } : {};
}

export function addrText(a: { address: string; port: number }): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function parseMaybeIp(text: string): VpnIp | null {
  try {
    return parseVpnIp(text);
  } catch {
    return null;
  }
}

/**
 * A HOST argument: an overlay IP (tunnel or not), or the certificate name of a peer we have a tunnel to (names
 * are only known from certificates, so a host without a tunnel must be given by IP).
 */
export function resolveHost(node: ControlledNode, text: string): { vpnIp: VpnIp; host: HostInfo | undefined } {
  const ip = parseMaybeIp(text);
  if (ip !== null) return { vpnIp: ip, host: node.hostmap.byVpnIp.get(ip) };
  for (const host of node.hostmap.byVpnIp.values()) if (host.certName === text) return { vpnIp: host.vpnIp, host };
  throw new ControlError(
    ControlErrorCode.noHost,
    `no tunnel to a host named ${JSON.stringify(text)} (use its overlay IP to reach a host without a tunnel)`,
  );
}

/** Starts a handshake if needed and waits (bounded) for the tunnel to `vpnIp`. */
export async function tunnelTo(node: ControlledNode, vpnIp: VpnIp, timeoutMs: number): Promise<HostInfo> {
  const me = node.identity();
  if (me.vpnAddrs.includes(vpnIp))
    throw new ControlError(ControlErrorCode.badRequest, `${formatVpnIp(vpnIp)} is this node`);
  if (!inNetworks(vpnIp, me.vpnNetworks))
    throw new ControlError(ControlErrorCode.noHost, `${formatVpnIp(vpnIp)} is outside the overlay network`);
  const host = node.hostmap.byVpnIp.get(vpnIp);
  if (host) return host;
  // Told by the hostmap when the tunnel is installed (no polling), bounded on the node's clock.
  const up = new Promise<HostInfo>((resolve, reject) => {
    const done = (): void => {
      stopListening();
      cancelTimeout();
    };
    const stopListening = node.hostmap.onInstalled((h) => {
      if (!h.vpnAddrs.includes(vpnIp)) return;
      done();
      resolve(h);
    });
    const cancelTimeout = after(node.clock, timeoutMs, () => {
      done();
      reject(new ControlError(ControlErrorCode.timeout, `no tunnel to ${formatVpnIp(vpnIp)} after ${timeoutMs} ms`));
    });
  });
  node.handshakes.start(vpnIp);
  return up;
}
