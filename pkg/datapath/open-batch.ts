// Step 5 of the outside pipeline (decrypt) for data packets, batched: the packets of one received batch are copied
// into a CryptoBatch as they pass steps 1-4 (header, lookup, replay check), and opened together, one addon crossing
// per tunnel, when the batch ends: when the socket reports the end of the received batch (UdpConn.onReceiveBatch;
// the node holds this batch in between, hold/release), else from a microtask (the addon runs microtasks right after
// each batch of datagrams, before it reads the next), or at once before anything else is handled (outside.ts
// flushes before every packet that is not a data packet, so a handshake, close or control message never overtakes
// data that arrived before it).
//
// Only packets that came straight from the socket are batched (relayed ones are opened at once: the relay looks at
// what each did). Order is the pipeline's: `opened` gets every record in arrival order, with null for one that did
// not authenticate; the replay window is only updated there, after the open, so a packet failing to open never moves it
// (docs/security-model.md). Once every record's fate is decided, `decided` hands the delivered packets to the kernel,
// and only then does the bookkeeping no packet's fate depends on run (`accounted`): a lone packet reaches the TUN
// without waiting for it (docs/differences-from-nebula.md). A packet added while the batch is being
// delivered (nothing does this today) is opened, delivered and accounted on its own at once.

import { HEADER_LEN } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { AEAD_TAG_LEN } from '../noise/aead.js';
import { AEAD_META_WORDS as W, openRecords } from '../noise/session-aead.js';
import type { UdpAddr } from '../udp/addr.js';
import { CryptoBatch, MAX_RECORDS } from './crypto-batch.js';
import { releaseSlots, reusedSlots } from './reused-slots.js';
import { atTurnEnd } from '../schedule/turn-end.js';

/** What an open batch hands its records to, in three steps per batch. */
export interface OpenOutcomes {
  /**
   * One record, in arrival order (`plaintext` null: it did not authenticate): decides its fate (replay window,
   * firewall) and queues it for the TUN if it is delivered. True when it was accepted (authenticated and not a
   * replay), whether delivered or not: `accounted` follows for it.
   */
  opened(host: HostInfo, plaintext: Buffer | null, counter: number, from: UdpAddr): boolean;
  /** Every record went through `opened`: what they queued for the TUN is written now. */
  decided(): void;
  /** After `decided`, once per accepted record, in order: `length` plaintext bytes from `from` (statistics). */
  accounted(host: HostInfo, length: number, from: UdpAddr): void;
  /** What a step threw for one record (that record is lost, the rest of the batch goes on), or `decided` threw. */
  failed(err: unknown): void;
}

export class OpenBatch {
  private readonly batch = new CryptoBatch();
  // Per record, written by index up to the batch's count (reused-slots.ts).
  private readonly hosts = reusedSlots<HostInfo | undefined>(MAX_RECORDS, undefined);
  private readonly froms = reusedSlots<UdpAddr | undefined>(MAX_RECORDS, undefined);
  /** Per record of the batch being delivered: 1 when `opened` accepted it. */
  private readonly accepted = new Uint8Array(MAX_RECORDS);
  private queued = false;
  /** Held (hold, release): adds wait for release() instead of queueing a flush at the end of the turn. */
  private held = false;
  private flushing = false;
  private readonly flushNow = (): void => this.flush();

  constructor(private readonly outcomes: OpenOutcomes) {}

  /** `packet` (header ‖ ciphertext ‖ tag, at least HEADER_LEN bytes) is copied; the caller may reuse it at once. */
  add(host: HostInfo, packet: Uint8Array, counter: number, from: UdpAddr): void {
    const aead = host.keys.recv;
    if (this.flushing) {
      const plaintext = aead.open(counter, packet.subarray(HEADER_LEN), packet.subarray(0, HEADER_LEN));
      if (this.outcomes.opened(host, plaintext, counter, from)) this.outcomes.accounted(host, plaintext!.length, from);
      return;
    }
    const b = this.batch;
    const length = packet.length;
    if (!b.fits(length)) this.flush();
    const i = b.count;
    const at = b.add(aead, counter, length);
    b.chunk.set(packet, at);
    // Opened in place: the plaintext lands where the ciphertext was, right after the header.
    b.setMeta(i, at, HEADER_LEN, at + HEADER_LEN, length - HEADER_LEN, at + HEADER_LEN);
    this.hosts[i] = host;
    this.froms[i] = from;
    if (!this.queued && !this.held) {
      this.queued = true;
      atTurnEnd(this.flushNow);
    }
  }

  /**
   * Packets added from now on are opened at release() (or by a flush meanwhile), not at the end of the turn: one hop
   * less for a received batch's packets, whose end the socket reports. The holder must release, even when it throws.
   */
  hold(): void {
    this.held = true;
  }

  /** Ends a hold and opens and delivers what it kept. */
  release(): void {
    this.held = false;
    this.flush();
  }

  get pending(): number {
    return this.batch.count;
  }

  /** Opens what is pending, hands each record to `opened` in order, then writes (`decided`), then accounts. */
  flush(): void {
    this.queued = false;
    const b = this.batch;
    const n = b.count;
    if (n === 0 || this.flushing) return;
    this.flushing = true;
    const { outcomes, accepted } = this;
    try {
      b.run(openRecords);
      const { meta, ok, counters, chunk } = b;
      for (let i = 0; i < n; i++) {
        const at = meta[i * W + 4]!;
        const plaintext = ok[i] ? chunk.subarray(at, at + meta[i * W + 3]! - AEAD_TAG_LEN) : null;
        accepted[i] = 0;
        try {
          if (outcomes.opened(this.hosts[i]!, plaintext, counters[i]!, this.froms[i]!)) accepted[i] = 1;
        } catch (err) {
          outcomes.failed(err);
        }
      }
      try {
        outcomes.decided();
      } catch (err) {
        outcomes.failed(err);
      }
      for (let i = 0; i < n; i++) {
        if (accepted[i] === 0) continue;
        try {
          outcomes.accounted(this.hosts[i]!, meta[i * W + 3]! - AEAD_TAG_LEN, this.froms[i]!);
        } catch (err) {
          outcomes.failed(err);
        }
      }
    } finally {
      b.clear();
      releaseSlots(this.hosts, n);
      releaseSlots(this.froms, n);
      this.flushing = false;
    }
  }
}
