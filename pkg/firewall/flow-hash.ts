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

const BYTE_TABLES6 = 36;
/** The IPv6 hash's key: one table per byte of the two addresses and the ports, and the tag table. */
export const FLOW_HASH6_KEY_BYTES = (BYTE_TABLES6 * 256 + TAG_WORDS) * 4;

/**
 * The same tabulation for IPv6 flows (docs/ipv6.md): every one of the 32 address bytes picks its own secret
 * word, so a peer choosing source addresses in an unsafe /64 cannot fold them onto one slot either.
 */
export class FlowHash6 {
  private readonly words: Int32Array;

  constructor(key: Uint8Array = randomBytes(FLOW_HASH6_KEY_BYTES)) {
    if (key.length !== FLOW_HASH6_KEY_BYTES)
      throw new RangeError(`IPv6 flow hash key must be ${FLOW_HASH6_KEY_BYTES} bytes`);
    this.words = new Int32Array(key.buffer.slice(key.byteOffset, key.byteOffset + key.length));
  }

  /** `addr[at..at+8)`: local then remote address as big-endian words. */
  of(addr: Uint32Array, at: number, ports: number, tag: number): number {
    const w = this.words;
    let h = w[(BYTE_TABLES6 * 256) | (tag & 0x3ff)];
    for (let i = 0; i < 8; i++) {
      const x = addr[at + i];
      const t = i << 10;
      h ^=
        w[t | (x >>> 24)] ^
        w[t | 256 | ((x >>> 16) & 0xff)] ^
        w[t | 512 | ((x >>> 8) & 0xff)] ^
        w[t | 768 | (x & 0xff)];
    }
    return (
      h ^
      w[8192 | (ports >>> 24)] ^
      w[8448 | ((ports >>> 16) & 0xff)] ^
      w[8704 | ((ports >>> 8) & 0xff)] ^
      w[8960 | (ports & 0xff)]
    );
  }
}
