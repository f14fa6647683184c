// The conntrack table's hash: simple tabulation with secret random tables. The flow key is cut into bytes
// (local IP, remote IP, the two ports) plus the protocol tag; each picks a random word from a table of its
// own and the words are XORed. Which flows share a slot then depends on 16 KiB of secret randomness drawn
// when the table is made, so a peer cannot compute a set of flows that piles into one probe run (with the
// fixed-constant hash it replaced, 20000 chosen flows made a lookup take 65 us instead of 28 ns). Tabulation
// also keeps linear probing at constant expected probe lengths on any key set (Patrascu and Thorup, "The
// Power of Simple Tabulation Hashing", 2011), which a keyed multiply-shift hash would not promise.
// See docs/security-model.md (conntrack).

import { randomBytes } from 'node:crypto';

const BYTE_TABLES = 12;
/** The tag (protocol | fragment | used bits) is below 0x400: one table indexed by all of it. */
const TAG_WORDS = 0x400;
export const FLOW_HASH_KEY_BYTES = (BYTE_TABLES * 256 + TAG_WORDS) * 4;

export class FlowHash {
  private readonly words: Int32Array;

  /** `key`: FLOW_HASH_KEY_BYTES random bytes; fresh ones from node:crypto by default (tests pass seeded ones). */
  constructor(key: Uint8Array = randomBytes(FLOW_HASH_KEY_BYTES)) {
    if (key.length !== FLOW_HASH_KEY_BYTES) throw new RangeError(`flow hash key must be ${FLOW_HASH_KEY_BYTES} bytes`);
    this.words = new Int32Array(key.buffer.slice(key.byteOffset, key.byteOffset + key.length));
  }

  /** A 32-bit hash (as a signed integer), uniform in every bit: callers mask off the low ones. */
  of(localIp: number, remoteIp: number, ports: number, tag: number): number {
    const w = this.words;
    return (
      w[localIp >>> 24] ^
        w[256 | ((localIp >>> 16) & 0xff)] ^
        w[512 | ((localIp >>> 8) & 0xff)] ^
        w[768 | (localIp & 0xff)] ^
        w[1024 | (remoteIp >>> 24)] ^
        w[1280 | ((remoteIp >>> 16) & 0xff)] ^
        w[1536 | ((remoteIp >>> 8) & 0xff)] ^
        w[1792 | (remoteIp & 0xff)] ^
        w[2048 | (ports >>> 24)] ^
        w[2304 | ((ports >>> 16) & 0xff)] ^
        w[2560 | ((ports >>> 8) & 0xff)] ^
        w[2816 | (ports & 0xff)] ^
        w[3072 | (tag & 0x3ff)]
    );
  }
}
