// One received tunnel packet opened on its own (outside.ts step 5 for everything but batched data: lighthouse,
// test, control and close messages, relayed packets): header as associated data, the AEAD's tag checked, the
// plaintext in a buffer of its own. The mirror of seal-packet.ts.

import { HEADER_LEN } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { AEAD_TAG_LEN } from '../noise/aead.js';
import { AEAD_META_WORDS, openRecords } from '../noise/session-aead.js';

/**
 * One record (native-aead.ts layout) for the addon's one-buffer call, opened in place in a copy of the packet: two
 * objects per packet (the copy and the plaintext's view of it) where open() took three (views of the header and
 * the body, and the plaintext), at a lighthouse every host update.
 */
const ONE = { meta: new Uint32Array(AEAD_META_WORDS), counters: new Float64Array(1), ok: new Uint8Array(1) };

/**
 * The plaintext of `packet` (header ‖ ciphertext ‖ tag) under the tunnel's receive key, or null if it does not
 * authenticate (or is too short to). The plaintext is the caller's to keep; `packet` is only read.
 */
export function openForTunnel(host: HostInfo, packet: Uint8Array, counter: number): Buffer | null {
  const length = packet.length;
  if (length < HEADER_LEN + AEAD_TAG_LEN) return null;
  const copy = Buffer.allocUnsafe(length);
  copy.set(packet);
  const { meta, counters, ok } = ONE;
  meta[0] = 0;
  meta[1] = HEADER_LEN;
  meta[2] = HEADER_LEN;
  meta[3] = length - HEADER_LEN;
  meta[4] = HEADER_LEN;
  counters[0] = counter;
  if (openRecords(host.keys.recv, copy, meta, counters, 1, ok) !== 1) return null;
  return copy.subarray(HEADER_LEN, length - AEAD_TAG_LEN);
}
