// Records for the batched seal and open stages (seal-batch.ts, open-batch.ts): packets copied into one chunk of
// bytes, each with its session key, counter and layout, run through the AEAD with one call per key
// (session-aead.ts sealRecords/openRecords: one addon crossing for a native key). A batch nearly always holds one
// tunnel's packets; when several tunnels' packets are mixed, each key's records are gathered and run together, and
// the result flags go back to the records' own places, so callers see every record in arrival order.
//
// The chunk is a bump arena: a record's bytes are never reused, so the views handed on (plaintext to the TUN batch,
// sealed packets to a socket that sends later) stay valid as long as someone holds them; a full chunk is left to
// the garbage collector and a new one started. One allocation per CHUNK_BYTES of traffic instead of one per packet.

import type { Aead } from '../noise/aead.js';
import { AEAD_META_WORDS } from '../noise/session-aead.js';
import { releaseSlots, reusedSlots } from './reused-slots.js';

const W = AEAD_META_WORDS;
/** Records per crossing at most: a full TUN or UDP read (64 packets by default). */
export const MAX_RECORDS = 64;
/** Fits a full batch of 1300-byte packets twice over; a larger packet gets a chunk of its own size. */
const CHUNK_BYTES = 256 * 1024;

export type RecordOp = (
  aead: Aead,
  buf: Buffer,
  meta: Uint32Array,
  counters: Float64Array,
  count: number,
  ok: Uint8Array,
) => void;

export class CryptoBatch {
  /** The key of each record (slots past `count` are stale: reused-slots.ts). */
  readonly aeads = reusedSlots<Aead | undefined>(MAX_RECORDS, undefined);
  /** [adOffset, adLength, inputOffset, inputLength, outputOffset] per record, in `chunk`. */
  readonly meta = new Uint32Array(MAX_RECORDS * W);
  readonly counters = new Float64Array(MAX_RECORDS);
  /** After run(): 1 if record i went through (sealed, or opened and authenticated). */
  readonly ok = new Uint8Array(MAX_RECORDS);
  count = 0;
  chunk: Buffer = Buffer.alloc(0);
  private used = 0;
  // Scratch for batches that mix keys.
  private readonly groupMeta = new Uint32Array(MAX_RECORDS * W);
  private readonly groupCounters = new Float64Array(MAX_RECORDS);
  private readonly groupOk = new Uint8Array(MAX_RECORDS);
  private readonly groupIndex = new Uint8Array(MAX_RECORDS);
  private readonly grouped = new Uint8Array(MAX_RECORDS);

  /** Whether a record of `bytes` can join the pending ones (same chunk, a free record); otherwise run them first. */
  fits(bytes: number): boolean {
    return this.count < MAX_RECORDS && this.used + bytes <= this.chunk.length;
  }

  /**
   * Adds a record of `bytes` bytes at a fresh offset of the chunk and returns that offset; the caller writes the
   * bytes and fills meta. A new chunk is started only when no record is pending (check fits() first).
   */
  add(aead: Aead, counter: number, bytes: number): number {
    if (this.used + bytes > this.chunk.length) {
      if (this.count !== 0) throw new Error('CryptoBatch: chunk full with records pending');
      this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
      this.used = 0;
    }
    const at = this.used;
    this.used += bytes;
    this.aeads[this.count] = aead;
    this.counters[this.count] = counter;
    this.count++;
    return at;
  }

  setMeta(
    i: number,
    adOffset: number,
    adLength: number,
    inputOffset: number,
    inputLength: number,
    outputOffset: number,
  ): void {
    const m = this.meta;
    const r = i * W;
    m[r] = adOffset;
    m[r + 1] = adLength;
    m[r + 2] = inputOffset;
    m[r + 3] = inputLength;
    m[r + 4] = outputOffset;
  }

  /**
   * Runs `op` over the pending records, once per key; ok[i] as `op` set it, or 0 for every record of a key whose
   * call threw (a key closed meanwhile: sealing refuses it).
   */
  run(op: RecordOp): void {
    const n = this.count;
    if (n === 0) return;
    const aeads = this.aeads;
    const first = aeads[0]!;
    let mixed = false;
    for (let i = 1; i < n; i++) {
      if (aeads[i] !== first) {
        mixed = true;
        break;
      }
    }
    if (!mixed) return this.runOne(op, first, this.meta, this.counters, n, this.ok);
    const { grouped, groupMeta, groupCounters, groupOk, groupIndex, meta, counters, ok } = this;
    grouped.fill(0, 0, n);
    for (let i = 0; i < n; i++) {
      if (grouped[i]) continue;
      const aead = aeads[i]!;
      let k = 0;
      for (let j = i; j < n; j++) {
        if (aeads[j] !== aead) continue;
        grouped[j] = 1;
        groupIndex[k] = j;
        groupCounters[k] = counters[j]!;
        groupMeta.set(meta.subarray(j * W, j * W + W), k * W);
        k++;
      }
      this.runOne(op, aead, groupMeta, groupCounters, k, groupOk);
      for (let q = 0; q < k; q++) ok[groupIndex[q]!] = groupOk[q]!;
    }
  }

  /** Forgets the pending records (their bytes stay where they are, for whoever holds views of them). */
  clear(): void {
    releaseSlots(this.aeads, this.count);
    this.count = 0;
  }

  private runOne(op: RecordOp, aead: Aead, meta: Uint32Array, counters: Float64Array, n: number, ok: Uint8Array): void {
    try {
      op(aead, this.chunk, meta, counters, n, ok);
    } catch {
      ok.fill(0, 0, n);
    }
  }
}
