// Wires the control socket to a running node: the RTT probes (fed test replies by the node), the whoami exchange, and the
// command handlers behind the unix socket. The daemon opens it after the node starts and closes it first on stop.

import type { MeshNode } from '../daemon/node.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { MessageType } from '../header/header.js';
import { encodeMeta } from '../lighthouse/meta.js';
import { controlHandler } from './handlers.js';
import type { ReloadReply } from './reports.js';
import { RttProbes } from './rtt-probes.js';
import { ControlServer } from './server.js';
import { Whoami } from './whoami.js';

export interface ControlServiceOptions {
  /** Candidate socket paths, tried in order (one when control.socket is set). */
  socketPaths: string[];
  /** socketPaths is the admin's `control.socket`, in a directory the daemon must not change (server.ts). */
  socketConfigured: boolean;
  reload(): Promise<ReloadReply>;
}

export class ControlService {
  private constructor(
    readonly server: ControlServer,
    readonly probes: RttProbes,
  ) {}

  static async start(node: MeshNode, opts: ControlServiceOptions): Promise<ControlService> {
    const probes = new RttProbes(node.clock, (host, payload) => sendOnTunnel(node, host, MessageType.Test, 0, payload));
    node.testReplyHandler = (host, payload, header, from) =>
      probes.onTestReply(host, payload, header, from, from === null ? (host.relayVia?.hopIp ?? null) : null);
    const whoami = new Whoami({
      myIp: () => node.identity().vpnIp,
      sendMeta: (host, m) => sendOnTunnel(node, host, MessageType.LightHouse, 0, encodeMeta(m)),
      probePort: () => node.natTests?.probePort?.port ?? 0,
    });
    node.metaExtension = (host, payload) => whoami.onMeta(host, payload);
    const server = await ControlServer.open(opts.socketPaths, controlHandler({ node, probes, whoami, reload: opts.reload }), {
      configured: opts.socketConfigured,
    });
    return new ControlService(server, probes);
  }

  get path(): string {
    return this.server.path;
  }

  async close(): Promise<void> {
    this.probes.clear();
    await this.server.close();
  }
}
