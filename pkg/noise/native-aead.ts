// The data path's AEAD in the addon (pkg/native/aead.c): the same ciphers and nonce layout as the node:crypto
// Aead in aead.ts, on the same OpenSSL node links, but with keyed OpenSSL contexts reused from packet to packet
// (for the 1024 most recently used keys; others re-key one) instead of a new cipher object per packet, and sealing
// straight into the caller's buffer. bench/aead.ts has the per-packet figures next to node:crypto's.
//
// The key crosses into C once, at creation; no JS copy is kept (the caller wipes its own). close() clears the key
// and frees its OpenSSL context at once; a context nobody closed is cleared by the addon's finalizer when collected.
// Contexts belong to the main thread: the addon refuses to create them from a worker (EAEADTHREAD).
// After close, seal throws AeadClosedError (sealing on a closed tunnel is our own bug) and open returns null (a
// packet can still arrive for a tunnel being torn down; that must not throw).
//
// Batches: sealBatch/openBatch run N records of one buffer in one crossing (AEAD_META_WORDS per record, see
// pkg/native/addon.ts); a batch of one (a lighthouse's usual case) crosses with the record as numbers instead
// (aead_seal_single/aead_open_single: the same checks, fewer argument conversions). openBatch only authenticates: the
// replay window and the firewall stay with the caller, after it, so a packet that fails authentication never touches
// the window.

import { AEAD_META_WORDS, loadNativeAddon, type AeadAddon, type AeadContext } from '../native/addon.js';
import {
  AEAD_KEY_LEN,
  AEAD_TAG_LEN,
  AeadClosedError,
  AeadCounterError,
  AeadKeyError,
  type Aead,
  type AeadCipher,
} from './aead.js';

export { AEAD_META_WORDS };

export { AeadClosedError };

const CIPHER_ID: Record<AeadCipher, 0 | 1> = { aes: 0, chachapoly: 1 };

export class NativeAead implements Aead {
  #ctx: AeadContext | null;

  constructor(
    private readonly addon: AeadAddon,
    cipher: AeadCipher,
    key: Uint8Array,
  ) {
    const id = CIPHER_ID[cipher];
    if (id === undefined) throw new AeadKeyError(`unknown cipher: ${String(cipher)}`);
    if (key.length !== AEAD_KEY_LEN)
      throw new AeadKeyError(`AEAD key must be ${AEAD_KEY_LEN} bytes, got ${key.length}`);
    this.#ctx = addon.aead_create(id, key);
  }

  get closed(): boolean {
    return this.#ctx === null;
  }

  seal(counter: number, plaintext: Uint8Array, ad: Uint8Array, out?: Buffer, outOffset = 0): Buffer {
    const ctx = this.#live();
    if (!Number.isSafeInteger(counter) || counter < 0)
      throw new AeadCounterError(`AEAD counter out of range: ${counter}`);
    const dst = out ?? Buffer.allocUnsafe(plaintext.length + AEAD_TAG_LEN);
    const at = out ? outOffset : 0;
    const written = this.addon.aead_seal(ctx, counter, ad, plaintext, dst, at);
    return dst.subarray(at, at + written);
  }

  open(counter: number, ciphertextAndTag: Uint8Array, ad: Uint8Array): Buffer | null {
    const ctx = this.#ctx;
    const bodyLen = ciphertextAndTag.length - AEAD_TAG_LEN;
    if (ctx === null || bodyLen < 0) return null;
    // Pooled for small packets, as node:crypto's output is; on failure the addon has already wiped it.
    const plaintext = Buffer.allocUnsafe(bodyLen);
    return this.addon.aead_open(ctx, counter, ad, ciphertextAndTag, plaintext) ? plaintext : null;
  }

  /**
   * Seals `count` records of `buf` (see pkg/native/addon.ts; input = plaintext, output gets plaintext length + 16).
   * Throws AeadCounterError or RangeError before sealing anything if any record is bad.
   */
  sealBatch(buf: Uint8Array, meta: Uint32Array, counters: Float64Array, count: number): void {
    const ctx = this.#live();
    for (let i = 0; i < count; i++) {
      const c = counters[i]!;
      if (!Number.isSafeInteger(c) || c < 0) throw new AeadCounterError(`AEAD counter out of range: ${c}`);
    }
    if (count === 1 && meta.length >= AEAD_META_WORDS) {
      this.addon.aead_seal_single(ctx, buf, counters[0]!, meta[0]!, meta[1]!, meta[2]!, meta[3]!, meta[4]!);
      return;
    }
    this.addon.aead_seal_batch(ctx, buf, meta, counters, count);
  }

  /** Opens `count` records (input = ciphertext ‖ tag); ok[i] = 1 if record i authenticated. Returns how many did. */
  openBatch(buf: Uint8Array, meta: Uint32Array, counters: Float64Array, count: number, ok: Uint8Array): number {
    const ctx = this.#ctx;
    if (ctx === null) {
      ok.fill(0, 0, count);
      return 0;
    }
    if (count === 1 && meta.length >= AEAD_META_WORDS && counters.length >= 1 && ok.length >= 1) {
      const opened = this.addon.aead_open_single(
        ctx,
        buf,
        counters[0]!,
        meta[0]!,
        meta[1]!,
        meta[2]!,
        meta[3]!,
        meta[4]!,
      );
      ok[0] = opened ? 1 : 0;
      return ok[0];
    }
    return this.addon.aead_open_batch(ctx, buf, meta, counters, count, ok);
  }

  close(): void {
    if (this.#ctx === null) return;
    this.addon.aead_close(this.#ctx);
    this.#ctx = null;
  }

  #live(): AeadContext {
    if (this.#ctx === null) throw new AeadClosedError('AEAD context used after close');
    return this.#ctx;
  }
}

let addon: AeadAddon | null | undefined;

/**
 * The addon's AEAD, or null when the addon is not built or will not load (then node:crypto serves). Decided on
 * the first call and kept: a process never mixes backends. MESH_AEAD=node forces node:crypto (for benchmarks and
 * for comparing the two on one machine).
 */
export function nativeAeadAddon(): AeadAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env['MESH_AEAD'] === 'node') return addon;
  try {
    const loaded = loadNativeAddon();
    if (typeof loaded.aead_create === 'function') addon = loaded;
  } catch {
    // Not built (a pure-JS install, MemoryTun tests): node:crypto serves.
  }
  return addon;
}
