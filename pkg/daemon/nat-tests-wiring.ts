// The NAT tests' view of the node (daemon/nat-tests.ts NatTestsEnv): the node's tunnel to a lighthouse, its listen
// socket, and the path finder told when a measurement changes the punch TTL.

import type { Clock } from '../clock/clock.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { MessageType, NoSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpConn } from '../udp/udp-conn.js';
import { whoamiQuestion } from '../control/whoami.js';
import type { NatTestsEnv } from './nat-tests.js';
import type { MeshNode } from './node.js';

export class NatTestsWiring implements NatTestsEnv {
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters: Counters;

  constructor(private readonly node: MeshNode) {
    this.clock = node.clock;
    this.log = node.log;
    this.counters = node.counters;
  }

  lighthouseTunnel(): HostInfo | undefined {
    const hostmap = this.node.hostmap;
    return this.node
      .lighthouseHosts()
      .map((ip) => hostmap.byVpnIp.get(ip))
      .find((h) => h !== undefined && h.remote !== null);
  }

  sendInTunnel(host: HostInfo, payload: Uint8Array): void {
    sendOnTunnel(this.node, host, MessageType.LightHouse, NoSubType, payload);
  }

  sendWhoami(host: HostInfo): void {
    // v1 layout for an IPv4 primary as before, v2 for an IPv6 one (a v1 message cannot carry it).
    this.node.sendMeta(host, whoamiQuestion(this.myIp()));
  }

  myIp(): VpnIp {
    return this.node.identity().vpnIp;
  }

  udp(): UdpConn {
    return this.node.udp;
  }

  schedule(ms: number, fn: () => void): void {
    this.node.schedule(ms, fn);
  }

  measured(): void {
    this.node.paths.punchTtlLearned();
  }
}
