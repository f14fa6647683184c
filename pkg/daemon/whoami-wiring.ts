// Whoami's view of the node (control/whoami.ts WhoamiEnv): our primary address, the node's tunnels for the
// question and the answer, and the second port a lighthouse announces in it (daemon/nat-tests.ts).

import type { Clock } from '../clock/clock.js';
import type { WhoamiEnv } from '../control/whoami.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { MetaMessage } from '../lighthouse/meta.js';
import type { MeshNode } from './node.js';

export class WhoamiWiring implements WhoamiEnv {
  readonly clock: Clock;

  constructor(private readonly node: MeshNode) {
    this.clock = node.clock;
  }

  myIp(): VpnIp {
    return this.node.identity().vpnIp;
  }

  send(host: HostInfo, message: MetaMessage): void {
    this.node.sendMeta(host, message);
  }

  probePort(): number {
    return this.node.natTests?.probePort?.port ?? 0;
  }
}
