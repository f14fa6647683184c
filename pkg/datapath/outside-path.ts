// What the outside pipeline (outside.ts) keeps for one node between datagrams: the header being dispatched, the last
// sender's loop-check verdict, the data packets waiting to be opened and the plaintexts waiting for the TUN. One per
// node (DataPathContext.pipelines), never module state: two nodes in one process (the unit tests run many) must not
// read each other's header or add to each other's batches.

import type { Header } from '../header/header.js';
import type { DataPathContext } from './context.js';
import { OpenBatch } from './open-batch.js';
import { DataOutcomes, type TunFlusher } from './open-outcomes.js';
import { SourceCheck } from './source-check.js';
import { TunBatch, type BatchTunWriter } from './tun-batch.js';
import type { ReceiveBatchBounds } from '../udp/udp-conn.js';

export class OutsidePath implements TunFlusher, ReceiveBatchBounds {
  /** Step 1 reads each datagram's header into this one record instead of allocating one per datagram. */
  readonly header: Header = { version: 0, type: 0, subtype: 0, reserved: 0, remoteIndex: 0, counter: 0 };
  /** Step 1's loop check, with the last sender's verdict. */
  readonly sources = new SourceCheck();
  // Made with the node, not at its first data packet, as inside-path.ts's seal batch is (the same first contact would
  // wait for it). Its callbacks read the context only when a batch is opened.
  private readonly opens: OpenBatch;
  private tunBatch: TunBatch | null = null;
  /** Inside a received batch (receiveBatchStarts, receiveBatchEnds): the open and TUN batches are held. */
  private inBatch = false;

  constructor(private readonly ctx: DataPathContext) {
    this.opens = new OpenBatch(new DataOutcomes(ctx, this));
  }

  /** Step 5's batch, the node's one for its life. */
  openBatch(): OpenBatch {
    return this.opens;
  }

  /** The socket starts handing over a received batch: its data packets are opened when it ends (open-batch.ts hold). */
  receiveBatchStarts(): void {
    this.inBatch = true;
    this.opens.hold();
    this.tunBatch?.hold();
  }

  /** The received batch was handed over: steps 5-7 for its data packets now, not at the turn's end. */
  receiveBatchEnds(): void {
    this.inBatch = false;
    try {
      this.opens.release();
    } finally {
      this.tunBatch?.release();
    }
  }

  /** Completes steps 5-7 for the data packets batched so far. */
  flushOpened(): void {
    this.opens.flush();
  }

  /**
   * An open batch's packets are decided: step 7's batch is written now instead of at the turn's end, unless more of
   * the received batch is to come (a full open batch, or one completed before a control packet, mid-batch): its TUN
   * packets then go in one write with the rest at the batch's end, as before, for the addon to join (tun-batch.ts).
   */
  flushTun(): void {
    if (!this.inBatch) this.tunBatch?.flush();
  }

  /** Step 7's batch for `tun` (the node's device; a new one if the node was given another). */
  tunBatchFor(tun: BatchTunWriter): TunBatch {
    const batch = this.tunBatch;
    if (batch !== null && batch.tun === tun) return batch;
    // A batch replaced while the old one is held: the old one's packets are written now, in order, before any of
    // the new one's, which is held as the old one was.
    batch?.release();
    const made = (this.tunBatch = new TunBatch(tun, this.ctx));
    if (this.inBatch) made.hold();
    return made;
  }
}
