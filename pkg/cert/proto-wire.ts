// The protobuf wire primitives the certificate codec needs: varints, tags, length-delimited fields and skipping
// unknown fields. Decoding follows google.golang.org/protobuf's rules (10-byte varint limit, field numbers
// 1..2^29-1, groups skipped when they nest properly) so that we accept and refuse the same inputs Go does.
//
//   tag     = varint( fieldNumber << 3 | wireType )
//   varint  = 7 payload bits per byte, least significant group first, high bit set on all but the last byte
//
//   wireType 0 varint | 1 fixed64 | 2 length-delimited (varint length, then bytes) | 3 start group | 4 end group
//            5 fixed32 | 6, 7 invalid

import { CertError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const MAX_GROUP_DEPTH = 100;

function malformed(why: string): CertError {
  return new CertError('ECERTDECODE', `malformed certificate protobuf: ${why}`);
}

/** A 64-bit varint split into two unsigned 32-bit halves (JavaScript numbers are exact only to 2^53). */
export interface Varint64 {
  lo: number;
  hi: number;
}

export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint64(): Varint64 {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (i === 9 && b > 1) throw malformed('varint overflows 64 bits');
      if ((b & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw malformed('varint longer than 10 bytes');
  }

  /** A uint32 field: Go keeps the low 32 bits of whatever varint was sent. */
  uint32(): number {
    return this.varint64().lo;
  }

  /** An int64 field, refused when it cannot be held exactly in a JavaScript number. */
  int64(): number {
    const { lo, hi } = this.varint64();
    const signedHi = hi | 0;
    if (signedHi >= 2 ** 21 || signedHi < -(2 ** 21)) throw malformed('int64 value out of range');
    return signedHi * 2 ** 32 + lo;
  }

  bool(): boolean {
    const { lo, hi } = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** Returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const { lo, hi } = this.varint64();
    const wireType = lo & 7;
    const fieldNumber = hi === 0 ? lo >>> 3 : Infinity;
    if (fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) throw malformed('invalid field number');
    if (wireType > WIRE_FIXED32) throw malformed(`invalid wire type ${wireType}`);
    return [fieldNumber, wireType];
  }

  /** Length-delimited payload as a view into the input (no copy). */
  bytes(): Uint8Array {
    const { lo, hi } = this.varint64();
    if (hi !== 0 || lo > this.end - this.pos) throw malformed('truncated length-delimited field');
    const view = this.buf.subarray(this.pos, this.pos + lo);
    this.pos += lo;
    return view;
  }

  skip(fieldNumber: number, wireType: number, depth = 0): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw malformed('groups nested too deeply');
        for (;;) {
          if (this.done()) throw malformed('unterminated group');
          const [num, type] = this.tag();
          if (type === WIRE_END_GROUP) {
            if (num !== fieldNumber) throw malformed('mismatched end group');
            return;
          }
          this.skip(num, type, depth + 1);
        }
      }
      default:
        throw malformed('unexpected end group');
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw malformed('truncated fixed-width field');
    this.pos += n;
  }
}

/** Bytes needed for `v` as a varint; `v` is a non-negative integer below 2^53. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes needed for an int64 field value (negative values always take 10 bytes, as in Go). */
export function int64Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/** Writes a non-negative varint at `offset`, returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, v: number): number {
  while (v >= 128) {
    buf[offset++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[offset++] = v;
  return offset;
}

/** Writes an int64 field value; negatives as 64-bit two's complement, which is always 10 bytes. */
export function writeInt64(buf: Uint8Array, offset: number, v: number): number {
  if (v >= 0) return writeVarint(buf, offset, v);
  let u = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < 9; i++) {
    buf[offset++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[offset++] = Number(u);
  return offset;
}
