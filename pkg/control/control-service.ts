// Wires the control socket to a running node: the command handlers behind the unix socket, reading the node's RTT
// probes and whoami (both owned by the node, which works the same with or without a socket). The daemon opens it after
// the node starts and closes it first on stop.

import type { MeshNode } from '../daemon/node.js';
import { controlHandler } from './handlers.js';
import type { ReloadReply } from './reports.js';
import type { RttProbes } from './rtt-probes.js';
import { ControlServer } from './server.js';

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
    const server = await ControlServer.open(
      opts.socketPaths,
      controlHandler({ node, probes: node.probes, whoami: node.whoami, reload: opts.reload }),
      {
        configured: opts.socketConfigured,
      },
    );
    return new ControlService(server, node.probes);
  }

  get path(): string {
    return this.server.path;
  }

  async close(): Promise<void> {
    this.probes.clear();
    await this.server.close();
  }
}
