// Certificate expiry's view of the node (daemon/cert-expiry.ts CertExpiryEnv): the hostmap's tunnels and events,
// pki.disconnect_invalid as configured now, and the node's closeTunnel for a tunnel whose certificate expired.

import type { Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import { formatVpnIp } from '../ip/vpn-ip.js';
import type { CertExpiryEnv } from './cert-expiry.js';
import type { MeshNode } from './node.js';

export class CertExpiryWiring implements CertExpiryEnv {
  readonly clock: Clock;
  readonly tunnelEvents: TunnelEvents;

  constructor(private readonly node: MeshNode) {
    this.clock = node.clock;
    this.tunnelEvents = node.hostmap;
  }

  enabled(): boolean {
    return this.node.currentConfig().pki.disconnectInvalid;
  }

  tunnels(): Iterable<HostInfo> {
    return this.node.hostmap.byPrimary.values();
  }

  expired(host: HostInfo): void {
    this.node.log.info('Tunnel peer certificate expired, closing', { vpnIp: formatVpnIp(host.vpnIp) });
    this.node.closeTunnel(host, 'invalid-cert', true);
  }
}
