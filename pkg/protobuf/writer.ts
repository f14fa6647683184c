// The one protobuf writer. Go's canonical output byte for byte: fields in the order called (callers call in
// ascending field number), zero values omitted (proto3), packed repeated scalars. Two forms: ProtobufWriter grows
// as it goes (Nebula's small messages), and the sized helpers below write into a buffer the caller measured first
// (cert/cert-marshal.ts, whose certificates are signed over these exact bytes).

import { ProtobufError, WireType } from './reader.js';

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

const MAX_UINT64 = 0xffffffffffffffffn;

/**
 * Appends fields in the order called; callers call in ascending field order to stay canonical. The bytes go into one
 * growing Uint8Array, bytes fields copied in with `set`: a number array pushed byte by byte cost a handshake's
 * payload (a ~300-byte certificate, written twice as the details and the message around them) ~10 KB of garbage and
 * ~5 us (bench/lh-load.ts with a sampling heap profile).
 */
export class ProtobufWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  /** Room for `n` more bytes. */
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  private varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new ProtobufError(`cannot encode ${v} as a varint`);
    this.reserve(8); // 2^53 takes 8 varint bytes
    this.len = writeVarint(this.buf, this.len, v);
  }

  private key(field: number, wireType: WireType): void {
    this.varint(field * 8 + wireType);
  }

  /** A varint field whose value fits a number exactly (uint32 fields, enums, bounded counts), omitted when zero. */
  uint(field: number, v: number): this {
    if (v !== 0) {
      this.key(field, WireType.Varint);
      this.varint(v);
    }
    return this;
  }

  /** A uint64 field, exact (handshake Time in Unix ns, IPv6 address halves), omitted when zero. */
  uint64(field: number, v: bigint): this {
    if (v < 0n || v > MAX_UINT64) throw new ProtobufError(`cannot encode ${v} as a uint64`);
    if (v === 0n) return this;
    this.key(field, WireType.Varint);
    this.reserve(10);
    let n = v;
    while (n >= 128n) {
      this.buf[this.len++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.len++] = Number(n);
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.uint(field, v ? 1 : 0);
  }

  /** Writes a bytes field, omitted when empty (proto3). */
  bytes(field: number, v: Uint8Array | undefined): this {
    if (v && v.length > 0) this.message(field, v);
    return this;
  }

  /** Writes an embedded message even when empty: Nebula rejects a NebulaMeta without Details. */
  message(field: number, v: Uint8Array): this {
    this.key(field, WireType.Bytes);
    this.varint(v.length);
    this.reserve(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v));
  }

  packed(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const inner = new ProtobufWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /** The bytes written, as a Uint8Array of their own. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
