// The NAT tests' view of the node (daemon/nat-tests.ts NatTestsEnv): the node's tunnel to a lighthouse, its listen
// socket, and the path finder told when a measurement changes the punch TTL.

import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock/clock.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { MessageType, NoSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import { TOKEN_LEN } from '../punchy/nat-test-wire.js';
import type { UdpAddr } from '../udp/addr.js';
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

  /** From the listen socket, whichever it is now (the TCP fallback may stand in for it). */
  sendBare(packet: Uint8Array, to: UdpAddr, ttl?: number): void {
    const udp = this.node.udp;
    if (ttl === undefined) udp.send(packet, to);
    // Without per-packet TTL control no TTL can be learned: the probe is not sent and the ramp finds nothing.
    else udp.sendWithTtl?.(packet, to, ttl);
  }

  randomToken(): Uint8Array {
    return randomBytes(TOKEN_LEN);
  }

  schedule(ms: number, fn: () => void): void {
    this.node.schedule(ms, fn);
  }

  measured(): void {
    this.node.paths.punchTtlLearned();
  }
}
