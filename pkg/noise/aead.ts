// The one AEAD seam used by both the Noise handshake and the data path.
//
// Nonce layout (Noise spec, and what Nebula 1.6.1 puts on the wire):
//
//   byte  0   1   2   3   4   5   6   7   8   9  10  11
//       +---+---+---+---+---+---+---+---+---+---+---+---+
//       | 0 | 0 | 0 | 0 |    counter as uint64          |
//       +---+---+---+---+---+---+---+---+---+---+---+---+
//   AES-256-GCM:        counter big-endian    (00000000 0000000000000003 for counter 3)
//   ChaCha20-Poly1305:  counter little-endian (00000000 0300000000000000 for counter 3)
//
// Backend: node:crypto (OpenSSL) for both ciphers; the data path's keys use the addon's contexts when it is
// built (native-aead.ts, chosen by session-aead.ts). bench/aead.ts, 1300-byte packets, CPU time on the
// 2-core lab machine: AES-256-GCM seal/open about 4.2/3.2 us (noble: 50/43 us), ChaCha20-Poly1305 about
// 6.1/5.3 us (noble: 17-20 us). A new cipher object per packet is unavoidable (node:crypto cannot re-nonce
// a GCM/Poly1305 context); what helps is reusing one nonce Buffer (about 0.5 us per seal) and sealing into
// the caller's buffer (about 0.4 us).
//
// Memory: every tunnel holds two of these, so they are small. The key is kept as raw bytes of its own in a private
// field (util.inspect does not show #fields, so a stray console.log cannot print it): a KeyObject would cost no less
// per packet (bench/aead.ts: raw key and KeyObject within 0.05 us) but about 1.1 KiB of native memory per key. A
// latin-1 string key (48 bytes of heap against ~400 resident) was tried and dropped: createCipheriv turns a string
// key into a Buffer from node's shared pool on every packet, which leaves copies of the key in memory that later
// Buffer.allocUnsafe calls hand out unwiped.
// All instances share one nonce Buffer, filled right before createCipheriv copies it.

import { createCipheriv, createDecipheriv } from 'node:crypto';

export type AeadCipher = 'aes' | 'chachapoly';

export const AEAD_KEY_LEN = 32;
export const AEAD_TAG_LEN = 16;
export const AEAD_NONCE_LEN = 12;

/**
 * Authenticated encryption under one fixed key; the caller supplies the counter (the Noise `n`, the
 * Nebula header counter) and must never seal twice with one counter.
 *
 * Buffer contract: inputs are only read during the call. `seal` returns ciphertext ‖ 16-byte tag: a view of
 * `out` at `outOffset` when `out` is given (it must have room for plaintext.length + 16 bytes), otherwise
 * a fresh Buffer. `plaintext` may be exactly out[outOffset, outOffset + plaintext.length) (sealed in place, as
 * pkg/datapath/seal-packet.ts does); any other overlap of `plaintext` and `out` is not allowed. `open` returns a
 * fresh Buffer with the plaintext, or null when the input is shorter than a tag, the counter is not an integer in
 * [0, 2^53), or it does not authenticate; it never throws on bad input.
 * `seal` throws AeadCounterError for a counter outside [0, 2^53): that counter is our own, so it is a bug, and
 * sealing under a rounded nonce could reuse one.
 */
export interface Aead {
  seal(counter: number, plaintext: Uint8Array, ad: Uint8Array, out?: Buffer, outOffset?: number): Buffer;
  open(counter: number, ciphertextAndTag: Uint8Array, ad: Uint8Array): Buffer | null;
  /** Wipes the key now (the tunnel is gone); later seals are a bug. Idempotent. */
  close(): void;
}

export class AeadKeyError extends Error {
  override name = 'AeadKeyError';
  readonly code = 'EAEADKEY';
}

/** A seal or batch call on a key that was closed (its tunnel is gone: sealing then is our bug). */
export class AeadClosedError extends Error {
  override name = 'AeadClosedError';
  readonly code = 'EAEADCLOSED';
}

/** A seal asked for with a counter no nonce can carry exactly (see `Aead`). */
export class AeadCounterError extends RangeError {
  override name = 'AeadCounterError';
  readonly code = 'EAEADCOUNTER';
}

const ALGORITHM: Record<AeadCipher, 'aes-256-gcm' | 'chacha20-poly1305'> = {
  aes: 'aes-256-gcm',
  chachapoly: 'chacha20-poly1305',
};

const TWO_POW_32 = 0x1_0000_0000;

/**
 * The node:crypto Aead: the handshake's, and the data path's when the addon is missing (session-aead.ts chooses).
 * Counters are integers in [0, 2^53); pkg/header refuses larger ones on receive and says why none is reached.
 */
export function createAead(cipher: AeadCipher, key: Uint8Array): Aead {
  const algorithm = ALGORITHM[cipher];
  if (algorithm === undefined) throw new AeadKeyError(`unknown cipher: ${String(cipher)}`);
  if (key.length !== AEAD_KEY_LEN) throw new AeadKeyError(`AEAD key must be ${AEAD_KEY_LEN} bytes, got ${key.length}`);
  const writeNonce = cipher === 'aes' ? writeNonceBigEndian : writeNonceLittleEndian;
  return new NodeAead(algorithm, key, writeNonce);
}

// Shared by every instance: createCipheriv copies the IV into the OpenSSL context synchronously.
const nonce = Buffer.alloc(AEAD_NONCE_LEN);
const CIPHER_OPTIONS = { authTagLength: AEAD_TAG_LEN } as const;

class NodeAead implements Aead {
  // A copy, so the caller may wipe its own.
  readonly #key: Uint8Array;
  #closed = false;

  constructor(
    private readonly algorithm: 'aes-256-gcm' | 'chacha20-poly1305',
    key: Uint8Array,
    private readonly writeNonce: (nonce: Buffer, counter: number) => void,
  ) {
    this.#key = Uint8Array.from(key);
  }

  seal(counter: number, plaintext: Uint8Array, ad: Uint8Array, out?: Buffer, outOffset = 0): Buffer {
    if (this.#closed) throw new AeadClosedError('seal on a closed AEAD key');
    if (!isNonceCounter(counter)) throw new AeadCounterError(`AEAD counter out of range: ${counter}`);
    this.writeNonce(nonce, counter);
    const c = createCipheriv(this.algorithm as 'aes-256-gcm', this.#key, nonce, CIPHER_OPTIONS);
    c.setAAD(ad);
    const body = c.update(plaintext);
    c.final();
    const tag = c.getAuthTag();
    const total = body.length + AEAD_TAG_LEN;
    const dst = out ?? Buffer.allocUnsafe(total);
    const at = out ? outOffset : 0;
    body.copy(dst, at);
    tag.copy(dst, at + body.length);
    return dst.subarray(at, at + total);
  }

  open(counter: number, ciphertextAndTag: Uint8Array, ad: Uint8Array): Buffer | null {
    const bodyLen = ciphertextAndTag.length - AEAD_TAG_LEN;
    // Closed: the key is zeroes now, which anyone could seal with; late packets for a closed tunnel open as nothing.
    if (this.#closed || bodyLen < 0 || !isNonceCounter(counter)) return null;
    this.writeNonce(nonce, counter);
    // OpenSSL reports a bad tag by throwing; most of that cost is the stack trace, which nobody reads.
    // Skipping it makes a forged packet about a third cheaper to reject (bench/aead.ts, "open forged").
    // The whole decryption sits in the try: whatever node:crypto might throw on hostile input becomes a null.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let plaintext: Buffer | null = null;
    try {
      const d = createDecipheriv(this.algorithm as 'aes-256-gcm', this.#key, nonce, CIPHER_OPTIONS);
      d.setAAD(ad);
      d.setAuthTag(ciphertextAndTag.subarray(bodyLen));
      plaintext = d.update(ciphertextAndTag.subarray(0, bodyLen));
      d.final();
    } catch {
      // Unauthenticated plaintext must not leak out, not even through a recycled buffer.
      plaintext?.fill(0);
      return null;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    return plaintext;
  }

  close(): void {
    this.#closed = true;
    this.#key.fill(0);
  }
}

/** An integer the 64-bit nonce field holds exactly as a double: [0, 2^53). */
function isNonceCounter(counter: number): boolean {
  return Number.isSafeInteger(counter) && counter >= 0;
}

function writeNonceBigEndian(nonce: Buffer, counter: number): void {
  nonce.writeUInt32BE(Math.floor(counter / TWO_POW_32), 4);
  nonce.writeUInt32BE(counter >>> 0, 8);
}

function writeNonceLittleEndian(nonce: Buffer, counter: number): void {
  nonce.writeUInt32LE(counter >>> 0, 4);
  nonce.writeUInt32LE(Math.floor(counter / TWO_POW_32), 8);
}
