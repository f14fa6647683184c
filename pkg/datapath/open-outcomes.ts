// Where the node's open batch (open-batch.ts) hands its records: each decided by the outside pipeline's steps 5-7
// up to the TUN (outside.ts openedData), the batch's packets written to the TUN at once, and only then the statistics
// (outside.ts account), so a lone packet reaches the kernel without waiting for them (docs/differences-from-nebula.md).

import type { HostInfo } from '../hostmap/hostinfo.js';
import type { UdpAddr } from '../udp/addr.js';
import type { DataPathContext } from './context.js';
import type { OpenOutcomes } from './open-batch.js';
import { account, openedData, outsideException } from './outside.js';

/** What the TUN write of a decided batch needs: the node's outside path (outside-path.ts). */
export interface TunFlusher {
  /** Writes what the pipeline queued for the TUN (nothing if nothing is queued). */
  flushTun(): void;
}

export class DataOutcomes implements OpenOutcomes {
  constructor(
    private readonly ctx: DataPathContext,
    private readonly tun: TunFlusher,
  ) {}

  opened(host: HostInfo, plaintext: Buffer | null, counter: number, from: UdpAddr): boolean {
    return openedData(this.ctx, host, plaintext, counter, from);
  }

  decided(): void {
    this.tun.flushTun();
  }

  accounted(host: HostInfo, length: number, from: UdpAddr): void {
    account(this.ctx, host, length, from);
  }

  failed(err: unknown): void {
    outsideException(this.ctx, err);
  }
}
