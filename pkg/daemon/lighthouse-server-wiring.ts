// The lighthouse server's view of the node (lighthouse/server.ts LighthouseServerEnv): the hostmap for the tunnels
// it serves, the node's allow lists and certificate for what an update may store, and the node's tunnels to answer.

import type { Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { MetaMessage } from '../lighthouse/meta.js';
import type { LighthouseServerEnv } from '../lighthouse/server.js';
import type { LighthouseStore } from '../lighthouse/store/store.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpAddr } from '../udp/addr.js';
import type { MeshNode } from './node.js';

export class LighthouseServerWiring implements LighthouseServerEnv {
  readonly counters: Counters;
  readonly clock: Clock;
  readonly tunnelEvents: TunnelEvents;

  constructor(
    private readonly node: MeshNode,
    readonly store: LighthouseStore,
  ) {
    this.counters = node.counters;
    this.clock = node.clock;
    this.tunnelEvents = node.hostmap;
  }

  hostFor(vpnIp: VpnIp): HostInfo | undefined {
    return this.node.hostmap.byVpnIp.get(vpnIp);
  }

  vpnNetworks(): readonly IpPrefix[] {
    return this.node.identity().vpnNetworks;
  }

  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean {
    return this.node.remoteAllowed(vpnIp, addr);
  }

  send(host: HostInfo, message: MetaMessage): void {
    this.node.sendMeta(host, message);
  }

  flushSends(): void {
    this.node.flushSends();
  }
}
