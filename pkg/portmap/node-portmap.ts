// The node's side of port mapping: starts the mapper once the node runs (the protocol code is imported only then,
// so a node with portmap off never loads it), refreshes it after address changes, deletes the mapping at stop, and
// says which address to add to the lighthouse reports (advertise.ts decides).

import { after, type Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import { udpAddr, type UdpAddr } from '../udp/addr.js';
import { judgeMapping } from './advertise.js';
import type { PortMapper, PortMapStatus } from './manager.js';
import type { PortMapping } from './types.js';

/**
 * How long after the node's start the mapper is loaded and run. The start is when the first tunnel's packets arrive
 * (the TUN has just come up), and loading the mapping protocols (node:http, node:fs/promises, ~4 ms of main thread)
 * then delayed that tunnel's handshake by ~2-3 ms; a mapping is for peers that reach us later, so it can wait.
 */
export const PORTMAP_START_DELAY_MS = 500;

/** What the mapping depends on in the node, and who hears that the advertised mapping changed. */
export interface PortMapNode {
  /** Our listen port: the internal port of the mapping. */
  localPort(): number;
  /** The IP a lighthouse sees us at (its answer about ourselves), if any answered: a mapping is judged against it. */
  seenIp(): string | undefined;
  /** Re-send our addresses to the lighthouses (the advertised mapping changed). */
  sendUpdate(): void;
}

export interface NodePortMapEnv extends PortMapNode {
  readonly clock: Clock;
  readonly log: Logger;
  /** Answers that were not acceptable (not from the gateway, not ours, malformed) count as drops. */
  readonly counters?: Counters;
  /** portmap.lifetime: the lease asked for. */
  readonly lifetimeSec: number;
  /** Where the mapping servers are; absent means the system's default gateway (gateway.ts). */
  readonly gateway?: () => Promise<string | null>;
}

/** What `mesh netcheck` and status show about port mapping. */
export interface PortMapReport extends PortMapStatus {
  advertised: boolean;
  /** Why a mapping is not advertised (null when it is, or when there is none). */
  notAdvertisedWhy: string | null;
}

export class NodePortMap {
  private mapper: PortMapper | null = null;
  private stopped = false;
  private cancelStartDelay: (() => void) | null = null;
  /** The address last put in a lighthouse report ('' for none), to re-send only when it changes. */
  private lastAdvertised = '';

  constructor(private readonly env: NodePortMapEnv) {}

  async start(delayMs = PORTMAP_START_DELAY_MS): Promise<void> {
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const cancel = after(this.env.clock, delayMs, resolve);
        this.cancelStartDelay = () => {
          cancel();
          resolve();
        };
      });
      this.cancelStartDelay = null;
    }
    if (this.stopped) return;
    const [{ PortMapper }, { PcpClient }, { NatPmpClient }, { UpnpClient }, { defaultGateway }] = await Promise.all([
      import('./manager.js'),
      import('./pcp.js'),
      import('./natpmp.js'),
      import('./upnp.js'),
      import('./gateway.js'),
    ]);
    if (this.stopped) return;
    const ignored = (): void => this.env.counters?.inc('drops', 'portmap-answer-ignored');
    this.mapper = new PortMapper({
      clock: this.env.clock,
      log: this.env.log,
      internalPort: () => this.env.localPort(),
      gateway: this.env.gateway ?? defaultGateway,
      clients: [new PcpClient(undefined, ignored), new NatPmpClient(undefined, ignored), new UpnpClient(ignored)],
      lifetimeSec: this.env.lifetimeSec,
      changed: () => this.seenChanged(),
    });
    this.mapper.start();
  }

  refresh(): void {
    this.mapper?.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelStartDelay?.();
    await this.mapper?.stop();
  }

  /** The mapped address when it is worth advertising (external IP = where the lighthouses see us). */
  advertised(): UdpAddr[] {
    const m = this.mapper?.current();
    const addrs = m && judgeMapping(m, this.env.seenIp()).advertise ? [udpAddr(m.externalIp, m.externalPort)] : [];
    this.lastAdvertised = key(m, addrs.length > 0);
    return addrs;
  }

  /** The mapping or the lighthouses' view of us changed: report again if what we would advertise did. */
  seenChanged(): void {
    const m = this.mapper?.current() ?? null;
    const now = key(m, m !== null && judgeMapping(m, this.env.seenIp()).advertise);
    if (now !== this.lastAdvertised) this.env.sendUpdate();
  }

  report(): PortMapReport | null {
    if (this.mapper === null) return null;
    const status = this.mapper.status();
    const m = this.mapper.current();
    const verdict = m ? judgeMapping(m, this.env.seenIp()) : null;
    return {
      ...status,
      advertised: verdict?.advertise ?? false,
      notAdvertisedWhy: verdict && !verdict.advertise ? verdict.why : null,
    };
  }
}

function key(m: PortMapping | null | undefined, advertise: boolean): string {
  return m && advertise ? `${m.externalIp}:${m.externalPort}` : '';
}
