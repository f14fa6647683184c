// What the outside pipeline (outside.ts) keeps for one node between datagrams: the header being dispatched, the last
// sender's loop-check verdict, the data packets waiting to be opened and the plaintexts waiting for the TUN. One per
// node (DataPathContext.pipelines), never module state: two nodes in one process (the unit tests run many) must not
// read each other's header or add to each other's batches.

import type { Header } from '../header/header.js';
import type { DataPathContext } from './context.js';
import { OpenBatch } from './open-batch.js';
import { openedData } from './outside.js';
import { SourceCheck } from './source-check.js';
import { TunBatch, type BatchTunWriter } from './tun-batch.js';

export class OutsidePath {
  /** Step 1 reads each datagram's header into this one record instead of allocating one per datagram. */
  readonly header: Header = { version: 0, type: 0, subtype: 0, reserved: 0, remoteIndex: 0, counter: 0 };
  /** Step 1's loop check, with the last sender's verdict. */
  readonly sources = new SourceCheck();
  // Made with the node, not at its first data packet, as inside-path.ts's seal batch is (the same first contact would
  // wait for it). Its callbacks read the context only when a batch is opened.
  private readonly opens: OpenBatch;
  private tunBatch: TunBatch | null = null;

  constructor(private readonly ctx: DataPathContext) {
    this.opens = new OpenBatch(
      (host, plaintext, counter, from, now) => openedData(ctx, host, plaintext, counter, from, now),
      (err) => {
        ctx.counters.inc('drops', 'outside-exception');
        ctx.log.debug('Exception on outside packet', { error: (err as Error).message });
      },
      // The node's clock, looked up when a batch is opened: the node sets it after making its pipelines.
      { now: () => ctx.clock.now() },
    );
  }

  /** Step 5's batch, the node's one for its life. */
  openBatch(): OpenBatch {
    return this.opens;
  }

  /** Completes steps 5-7 for the data packets batched so far. */
  flushOpened(): void {
    this.opens.flush();
  }

  /** Step 7's batch for `tun` (the node's device; a new one if the node was given another). */
  tunBatchFor(tun: BatchTunWriter): TunBatch {
    const batch = this.tunBatch;
    if (batch !== null && batch.tun === tun) return batch;
    return (this.tunBatch = new TunBatch(tun, this.ctx));
  }
}
