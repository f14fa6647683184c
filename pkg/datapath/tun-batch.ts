// Packets the outside pipeline delivers during one turn of the event loop go to the TUN in one writeBatch call,
// made from a microtask once the current batch of datagrams has been handled. One native call instead of one per
// packet, and it lets the addon join consecutive segments of a TCP flow into one write (pkg/native/offload.c),
// so the kernel's TCP stack handles tens of segments at once. Order is kept. A TunWriter without writeBatch
// (a test twin) gets its packets one by one, at once.
//
// Ownership: the packets must stay unchanged until the flush; the pipeline hands over freshly decrypted buffers.
// Each node keeps the batch for its own device (outside-path.ts).

import { icmpEchoReply } from './echo-responder.js';
import { handleTunPacket } from './inside.js';
import type { DataPathContext, TunWriter } from './context.js';
import { atTurnEnd } from '../schedule/turn-end.js';
import { reusedSlots } from './reused-slots.js';

const FLUSH_AT = 64;

export type BatchTunWriter = TunWriter & { writeBatch(packets: readonly Uint8Array[]): number };

/** What a written packet's slot holds until the slot is reused: nothing of the packet's buffer stays reachable. */
const NO_PACKET = new Uint8Array(0);

export class TunBatch {
  // This turn's packets are slots [0, count) of `packets`; the previous flush's array is the spare. Both keep their
  // stores from turn to turn: emptied with `length = 0`, V8 would allocate a store again each turn (reused-slots.ts).
  // They start as a one-packet turn leaves them (reusedSlots: a fresh batch meets code optimized on a used one).
  private packets = reusedSlots<Uint8Array>(1, NO_PACKET);
  private count = 0;
  private spare = reusedSlots<Uint8Array>(1, NO_PACKET);
  private queued = false;
  private readonly flushNow = (): void => this.flush();

  constructor(
    readonly tun: BatchTunWriter,
    private readonly ctx: DataPathContext,
  ) {}

  add(packet: Uint8Array): void {
    this.packets[this.count++] = packet;
    if (this.count >= FLUSH_AT) return this.flush();
    if (!this.queued) {
      this.queued = true;
      atTurnEnd(this.flushNow);
    }
  }

  private flush(): void {
    this.queued = false;
    const n = this.count;
    if (n === 0) return;
    const packets = this.packets;
    this.packets = this.spare;
    this.count = 0;
    // writeBatch writes the whole array: a turn with as many packets as the last one changes nothing here.
    if (packets.length !== n) packets.length = n;
    try {
      this.tun.writeBatch(packets);
    } catch (e) {
      // Runs from a microtask, where a throw would end the process: the packets are lost, as with a full queue.
      this.ctx.counters.inc('drops', 'tun-write-failed');
      this.ctx.log.debug('TUN write failed', { error: (e as Error).message });
    }
    packets.fill(NO_PACKET);
    this.spare = packets;
  }
}

export function writeToTun(ctx: DataPathContext, packet: Uint8Array): void {
  const tun = ctx.tun;
  if (tun === null) return answerWithoutTun(ctx, packet);
  if (tun.writeBatch === undefined) return tun.write(packet);
  ctx.pipelines.outside.tunBatchFor(tun as BatchTunWriter).add(packet);
}

/** tun.disabled: echo requests are answered (echo-responder.ts), everything else has nowhere to go. */
function answerWithoutTun(ctx: DataPathContext, packet: Uint8Array): void {
  const reply = icmpEchoReply(packet);
  if (reply === null) return;
  ctx.counters.inc('echo-replies');
  handleTunPacket(ctx, reply, ctx.clock.now());
}
