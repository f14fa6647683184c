// The Aead for a tunnel's session keys (the split after the handshake): the addon's per-key OpenSSL context when
// the addon loads, node:crypto otherwise; chosen once per process (native-aead.ts nativeAeadAddon). The handshake's
// own one-shot keys stay on node:crypto (cipher-state.ts): a native context per handshake message would only be
// one more thing to free.
//
// sealRecords/openRecords run a batch of records (the layout of native-aead.ts: AEAD_META_WORDS words each, all in
// one buffer) under one session key, whichever backend holds it: one addon crossing for a NativeAead, a loop of
// single calls for the node:crypto one. The data path's batching (pkg/datapath/crypto-batch.ts) uses these, so it
// works the same with MESH_AEAD=node.

import { AEAD_TAG_LEN, createAead, type Aead, type AeadCipher } from './aead.js';
import { AEAD_META_WORDS, nativeAeadAddon, NativeAead } from './native-aead.js';

export { AEAD_META_WORDS };

export function createSessionAead(cipher: AeadCipher, key: Uint8Array): Aead {
  const addon = nativeAeadAddon();
  return addon ? new NativeAead(addon, cipher, key) : createAead(cipher, key);
}

/**
 * Seals `count` records of `buf` in place or to their output offsets (input = plaintext; output gets plaintext
 * length + 16). Throws AeadClosedError on a closed key and AeadCounterError for a counter outside [0, 2^53); the
 * native backend throws before sealing any record, the node:crypto one at the first bad record.
 */
export function sealRecords(aead: Aead, buf: Buffer, meta: Uint32Array, counters: Float64Array, count: number): void {
  if (aead instanceof NativeAead) return aead.sealBatch(buf, meta, counters, count);
  for (let i = 0; i < count; i++) {
    const r = i * AEAD_META_WORDS;
    const ad = buf.subarray(meta[r]!, meta[r]! + meta[r + 1]!);
    const plaintext = buf.subarray(meta[r + 2]!, meta[r + 2]! + meta[r + 3]!);
    aead.seal(counters[i]!, plaintext, ad, buf, meta[r + 4]!);
  }
}

/**
 * Opens `count` records (input = ciphertext ‖ tag); ok[i] = 1 with the plaintext at the record's output offset if
 * record i authenticated, else 0. Never throws for what a sender controls; a closed key opens nothing. Returns how
 * many opened.
 */
export function openRecords(
  aead: Aead,
  buf: Buffer,
  meta: Uint32Array,
  counters: Float64Array,
  count: number,
  ok: Uint8Array,
): number {
  if (aead instanceof NativeAead) return aead.openBatch(buf, meta, counters, count, ok);
  let opened = 0;
  for (let i = 0; i < count; i++) {
    const r = i * AEAD_META_WORDS;
    const inputLen = meta[r + 3]!;
    ok[i] = 0;
    if (inputLen < AEAD_TAG_LEN) continue;
    const ad = buf.subarray(meta[r]!, meta[r]! + meta[r + 1]!);
    const plaintext = aead.open(counters[i]!, buf.subarray(meta[r + 2]!, meta[r + 2]! + inputLen), ad);
    if (plaintext === null) continue;
    buf.set(plaintext, meta[r + 4]!);
    ok[i] = 1;
    opened++;
  }
  return opened;
}
