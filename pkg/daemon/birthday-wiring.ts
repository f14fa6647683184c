// Birthday punching's view of the node (daemon/birthday.ts BirthdayEnv): tests on the node's tunnels, the lighthouse
// client's NAT views, and the outside pipeline for what the extra sockets receive.

import type { Clock } from '../clock/clock.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { MessageType, TestSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import type { MeasuredMapping } from '../punchy/birthday-policy.js';
import type { UdpAddr } from '../udp/addr.js';
import type { BirthdayEnv, NatViews } from './birthday.js';
import type { MeshNode } from './node.js';

export class BirthdayWiring implements BirthdayEnv {
  readonly log: Logger;
  readonly counters: Counters;
  readonly clock: Clock;
  readonly tunnelEvents: TunnelEvents;
  readonly natViews: NatViews;

  constructor(private readonly node: MeshNode) {
    this.log = node.log;
    this.counters = node.counters;
    this.clock = node.clock;
    this.tunnelEvents = node.hostmap;
    this.natViews = new LighthouseNatViews(node);
  }

  sendTest(host: HostInfo, payload: Uint8Array, to?: UdpAddr): void {
    sendOnTunnel(this.node, host, MessageType.Test, TestSubType.Request, payload, to);
  }

  isCurrent(host: HostInfo): boolean {
    return this.node.hostmap.byVpnIp.get(host.vpnIp) === host;
  }

  onUdp(packet: Buffer, from: UdpAddr): void {
    this.node.onUdp(packet, from);
  }

  punchTtl(): number {
    return this.node.punchTtl();
  }

  schedule(ms: number, fn: () => void): void {
    this.node.schedule(ms, fn);
  }

  stopped(): boolean {
    return this.node.isStopped();
  }
}

/** The lighthouse client's views, empty without lighthouses (a lighthouse itself never probes). */
class LighthouseNatViews implements NatViews {
  constructor(private readonly node: MeshNode) {}

  self(): readonly UdpAddr[] {
    return this.node.lighthouseClient?.selfNatView() ?? [];
  }

  peer(vpnIp: VpnIp): readonly UdpAddr[] {
    return this.node.lighthouseClient?.natViewOf(vpnIp) ?? [];
  }

  selfMeasured(): MeasuredMapping {
    return this.node.natMapping();
  }

  ask(vpnIp: VpnIp): void {
    this.node.lighthouseClient?.query(vpnIp);
  }
}
