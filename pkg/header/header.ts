// The 16-byte header in front of every Nebula UDP packet. Multi-byte fields are big-endian.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-------+-------+---------------+-------------------------------+
//  |version| type  |    subtype    |       reserved (always 0)     |   bytes 0-3
//  +-------+-------+---------------+-------------------------------+
//  |                         remote index                          |   bytes 4-7
//  +---------------------------------------------------------------+
//  |                 message counter (high 32 bits)                |   bytes 8-11
//  +---------------------------------------------------------------+
//  |                 message counter (low 32 bits)                 |   bytes 12-15
//  +---------------------------------------------------------------+
//
// version is 1, so byte 0 is 0x10 | type. On receive the version nibble is not checked and the reserved
// bytes are ignored (Nebula 1.6.1 does the same). For encrypted types the whole 16 bytes are the AEAD
// associated data; handshake packets carry the header in front of the Noise message, unauthenticated.
// Which index goes where, the counter rules and every message type: docs/wire-format.md.

export const HEADER_LEN = 16;
export const HEADER_VERSION = 1;

export enum MessageType {
  Handshake = 0,
  Message = 1,
  RecvError = 2,
  LightHouse = 3,
  Test = 4,
  CloseTunnel = 5,
  Control = 6,
}

/** Subtypes of `MessageType.Message`. */
export const MessageSubType = { None: 0, Relay: 1 } as const;

/** The subtype of the types that have none of their own: RecvError, LightHouse, CloseTunnel and Control. */
export const NoSubType = 0;

/** Subtypes of `MessageType.Test`. */
export const TestSubType = { Request: 0, Reply: 1 } as const;

/** Subtypes of `MessageType.Handshake`: "psk0" is only a name, the Noise pattern has no PSK. */
export const HandshakeSubType = { IXPSK0: 0 } as const;

/**
 * A parsed header. `type` holds the raw low nibble, so it may be a value outside `MessageType` (7-15):
 * callers switch on it and drop what they do not know.
 *
 * `counter` is a JS number, exact for every counter below 2^53: counters start at 1 and grow by one per
 * packet, so even at 10 million packets a second a tunnel needs 28 years to get there, and 1.6 never rekeys
 * or resets. A header whose counter is 2^53 or more cannot come from an honest sender and cannot be held
 * exactly (it would round, up to 2^64 itself, which no nonce writer accepts), so the parser refuses it as
 * malformed: no caller ever sees a counter outside [0, MAX_COUNTER].
 */
export interface Header {
  version: number;
  type: MessageType;
  subtype: number;
  reserved: number;
  remoteIndex: number;
  counter: number;
}

const TWO_POW_32 = 0x1_0000_0000;
/** The largest counter a header may carry: 2^53 - 1, the largest integer a double holds exactly. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/** The high 32 bits of the counter must stay below this (2^21) for the counter to stay below 2^53. */
const COUNTER_HIGH_LIMIT = 0x20_0000;

/** Writes the 16 header bytes at `out[offset..offset+16)`. `counter` must be an integer in [0, 2^53). */
export function encodeHeader(
  out: Uint8Array,
  offset: number,
  type: MessageType,
  subtype: number,
  remoteIndex: number,
  counter: number,
): void {
  out[offset] = (HEADER_VERSION << 4) | (type & 0x0f);
  out[offset + 1] = subtype;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  writeUint32(out, offset + 4, remoteIndex);
  writeUint32(out, offset + 8, Math.floor(counter / TWO_POW_32));
  writeUint32(out, offset + 12, counter >>> 0);
}

/**
 * Parses the first 16 bytes of `buf`; null when the packet is too short to be a Nebula packet or its counter is
 * 2^53 or more (malformed, see `Header.counter`).
 */
export function parseHeader(buf: Uint8Array): Header | null {
  const h: Header = { version: 0, type: MessageType.Handshake, subtype: 0, reserved: 0, remoteIndex: 0, counter: 0 };
  return readHeaderInto(buf, h) ? h : null;
}

/**
 * The allocation-free form of `parseHeader` for the receive loop: fills `target` and returns true, or
 * returns false (leaving `target` untouched) when `buf` is shorter than 16 bytes or its counter is 2^53 or
 * more. A caller that checked the length first knows a false is a bad counter.
 */
export function readHeaderInto(buf: Uint8Array, target: Header): boolean {
  if (buf.length < HEADER_LEN) return false;
  const counterHigh = readUint32(buf, 8);
  if (counterHigh >= COUNTER_HIGH_LIMIT) return false;
  const b0 = buf[0];
  target.version = b0 >>> 4;
  target.type = b0 & 0x0f;
  target.subtype = buf[1];
  target.reserved = (buf[2] << 8) | buf[3];
  target.remoteIndex = readUint32(buf, 4);
  target.counter = counterHigh * TWO_POW_32 + readUint32(buf, 12);
  return true;
}

function writeUint32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

function readUint32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}
