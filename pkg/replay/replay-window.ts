// Receive-side replay protection for one tunnel direction, with Nebula 1.6's rules (docs/wire-format.md):
// a window of the last 1024 counters, kept as a ring of 1024 bits indexed by counter mod 1024, plus the
// highest counter seen.
//
//   counter > highest                        accept; slots skipped over are cleared (all of them on a
//                                            jump of 1024 or more), then highest = counter
//   highest - 1024 < counter <= highest      accept once: reject when its bit is already set
//   counter <= highest - 1024                reject (too old to tell)
//
// The receive path calls check() before decrypting (so a replay costs no AEAD work; it draws no recv_error, on
// purpose: datapath/outside.ts) and update() only after the packet authenticated (so forged packets cannot move
// the window).
//
// Counters are JS numbers (exact below 2^53, see pkg/header). `counter & 1023` is exact for them too: the
// bitwise operators reduce a safe integer modulo 2^32, and 1024 divides 2^32.

export const REPLAY_WINDOW = 1024;

const WORDS = REPLAY_WINDOW / 32;

export class ReplayWindow {
  // A plain array of int32 words rather than a Uint32Array: every tunnel has one, and a typed array brings an
  // ArrayBuffer and a native backing store with it (about 700 bytes resident for these 128 bytes, against about
  // 300 bytes of heap for the array: node's V8 keeps every int32 as a small integer, unboxed). Same bit operations.
  private readonly bits: number[] = new Array<number>(WORDS).fill(0);
  private highest = 0;

  /** Starts with counters 0, 1 and 2 seen: 0 is never used and 1 and 2 were the handshake messages. */
  constructor() {
    this.bits[0] = 0b111;
    this.highest = 2;
  }

  /** The highest counter accepted so far. */
  get highestCounter(): number {
    return this.highest;
  }

  /** Whether `update(counter)` would accept; changes nothing. */
  check(counter: number): boolean {
    if (counter > this.highest) return true;
    if (counter <= this.highest - REPLAY_WINDOW) return false;
    return !this.isSet(counter);
  }

  /** Marks `counter` as received; returns false (and changes nothing) when `check` would have refused it. */
  update(counter: number): boolean {
    if (counter > this.highest) {
      const jump = counter - this.highest;
      if (jump >= REPLAY_WINDOW) this.bits.fill(0);
      else this.clearRun((this.highest + 1) & (REPLAY_WINDOW - 1), jump);
      this.highest = counter;
      this.set(counter);
      return true;
    }
    if (counter <= this.highest - REPLAY_WINDOW || this.isSet(counter)) return false;
    this.set(counter);
    return true;
  }

  private isSet(counter: number): boolean {
    const slot = counter & (REPLAY_WINDOW - 1);
    return (this.bits[slot >>> 5] & (1 << (slot & 31))) !== 0;
  }

  private set(counter: number): void {
    const slot = counter & (REPLAY_WINDOW - 1);
    this.bits[slot >>> 5] |= 1 << (slot & 31);
  }

  /** Clears `count` (< 1024) consecutive slots of the ring from `slot` on, a word at a time. */
  private clearRun(slot: number, count: number): void {
    while (count > 0) {
      const bit = slot & 31;
      const n = Math.min(32 - bit, count);
      const mask = n === 32 ? 0xffffffff : ((1 << n) - 1) << bit;
      this.bits[slot >>> 5] &= ~mask;
      slot = (slot + n) & (REPLAY_WINDOW - 1);
      count -= n;
    }
  }
}
