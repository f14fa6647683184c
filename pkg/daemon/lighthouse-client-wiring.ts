// The lighthouse client's view of the node (lighthouse/client.ts LighthouseClientEnv): each role it asks for,
// answered from the node's tables, config and path finder. Config is read at each call, so a reload applies; that
// includes lighthouse.advertise_addrs, as Nebula 1.6.1 reloads it (parsed again only when a reload changed it).

import type { Clock } from '../clock/clock.js';
import { parseHostPort } from '../config/index.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { LighthouseClientEnv } from '../lighthouse/client.js';
import type { MetaMessage } from '../lighthouse/meta.js';
import type { Counters } from '../metrics/counters.js';
import { PUNCH_BYTE } from '../punchy/punchy.js';
import { udpAddr, type UdpAddr } from '../udp/addr.js';
import type { MeshNode } from './node.js';
import { peerMoved } from './peer-moved.js';

export class LighthouseClientWiring implements LighthouseClientEnv {
  readonly clock: Clock;
  readonly counters: Counters;
  readonly tunnelEvents: TunnelEvents;
  /** lighthouse.advertise_addrs as last parsed, and the entries it was parsed from. */
  private advertise: { entries: readonly string[]; addrs: UdpAddr[] } | null = null;

  constructor(private readonly node: MeshNode) {
    this.clock = node.clock;
    this.counters = node.counters;
    this.tunnelEvents = node.hostmap;
    this.advertised();
  }

  /**
   * lighthouse.advertise_addrs of the current config. Parsed when its entries change (a reload), not at every
   * update, so a bad entry is warned about once per config that has it.
   */
  private advertised(): UdpAddr[] {
    const entries = this.node.currentConfig().lighthouse.advertiseAddrs;
    const last = this.advertise;
    if (last !== null && (last.entries === entries || sameEntries(last.entries, entries))) {
      last.entries = entries;
      return last.addrs;
    }
    const addrs = entries.flatMap((a) => {
      const parsed = parseHostPort(a);
      if (typeof parsed !== 'string') return [udpAddr(parsed.host, parsed.port)];
      this.node.log.warn('Ignoring lighthouse.advertise_addrs entry', { entry: a, error: parsed });
      return [];
    });
    if (last !== null) this.node.log.info('lighthouse.advertise_addrs has changed');
    this.advertise = { entries, addrs };
    return addrs;
  }

  // LighthouseTunnels

  lighthouses(): readonly VpnIp[] {
    return this.node.lighthouseHosts();
  }

  hostFor(vpnIp: VpnIp): HostInfo | undefined {
    return this.node.hostmap.byVpnIp.get(vpnIp);
  }

  startHandshake(vpnIp: VpnIp): void {
    if (!this.node.hostmap.byVpnIp.has(vpnIp)) this.node.handshakes.start(vpnIp);
  }

  // SelfReport

  vpnAddrs(): readonly VpnIp[] {
    return this.node.identity().vpnAddrs;
  }

  vpnNetworks(): readonly IpPrefix[] {
    return this.node.identity().vpnNetworks;
  }

  ownAddresses(): UdpAddr[] {
    return [...this.node.ownAddresses(this.advertised()), ...(this.node.portMap?.advertised() ?? [])];
  }

  relays(): VpnIp[] {
    return this.node.advertisedRelays();
  }

  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean {
    return this.node.remoteAllowed(vpnIp, addr);
  }

  // MetaSender

  send(host: HostInfo, message: MetaMessage): void {
    this.node.sendMeta(host, message);
  }

  // PunchBack

  punch(addr: UdpAddr): void {
    this.node.udp.send(PUNCH_BYTE, addr);
  }

  openMapping(addr: UdpAddr): void {
    this.node.openMapping(addr);
  }

  sendTestRequestTo(vpnIp: VpnIp): void {
    const host = this.node.hostmap.byVpnIp.get(vpnIp);
    if (host) this.node.sendTestRequest(host);
    else this.node.handshakes.start(vpnIp);
  }

  // PunchSettings

  punchDelayMs(): number {
    return this.node.currentConfig().punchy.delayMs;
  }

  respond(): boolean {
    return this.node.currentConfig().punchy.respond;
  }

  respondDelayMs(): number {
    return this.node.currentConfig().punchy.respondDelayMs;
  }

  // LighthouseClientEvents

  learned(vpnIp: VpnIp): void {
    this.node.paths.addressesLearned(vpnIp);
    // On TCP only a relay carries a handshake: the relays this answer named are used now, not at the next attempt
    // of the backoff (~200 ms sooner two seconds into a start).
    if (this.node.tcp?.fallback?.transport === 'tcp') this.node.handshakes.sendNow(vpnIp);
  }

  moved(vpnIp: VpnIp, addrs: readonly UdpAddr[]): void {
    const host = this.node.hostmap.byVpnIp.get(vpnIp);
    if (host) peerMoved(this.node, host, addrs);
  }

  selfSeen(): void {
    this.node.portMap?.seenChanged();
  }

  schedule(ms: number, fn: () => void): void {
    this.node.schedule(ms, fn);
  }
}

function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
