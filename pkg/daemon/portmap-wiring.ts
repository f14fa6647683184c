// Port mapping's view of the node (portmap/node-portmap.ts NodePortMapEnv): the listen port, where the lighthouses
// see us, and the lighthouse update that carries a mapping worth advertising.

import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import type { NodePortMapEnv } from '../portmap/node-portmap.js';
import type { MeshNode } from './node.js';

export class PortMapWiring implements NodePortMapEnv {
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters: Counters;

  constructor(
    private readonly node: MeshNode,
    readonly lifetimeSec: number,
    readonly gateway?: () => Promise<string | null>,
  ) {
    this.clock = node.clock;
    this.log = node.log;
    this.counters = node.counters;
  }

  localPort(): number {
    return this.node.udp.localPort;
  }

  seenIp(): string | undefined {
    const client = this.node.lighthouseClient;
    return (client?.selfNatView()[0] ?? client?.selfAddresses()[0])?.address;
  }

  sendUpdate(): void {
    this.node.lighthouseClient?.sendUpdate();
  }
}
