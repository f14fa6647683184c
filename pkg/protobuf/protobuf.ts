// A minimal proto3 reader and writer. Written by hand rather than taken from protobufjs because Nebula's messages
// are tiny and fixed (a handful of varint, bytes and packed fields), and the encoder must reproduce Go's canonical
// output byte for byte: ascending field order, zero values omitted, packed repeated scalars.

export class ProtobufError extends Error {
  override name = 'ProtobufError';
  readonly code = 'EPROTOBUF';
}

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

export interface Field {
  number: number;
  wireType: WireType;
  /** Varint value (exact up to 2^53; Nebula's uint64 fields are times and indexes). */
  value: number;
  /** Present for length-delimited fields: a view into the input. */
  bytes?: Uint8Array;
  /** Present for varint fields: the encoded bytes, for exact 64-bit decoding with `varintToBigInt`. */
  varint?: Uint8Array;
}

/** Exact value of an encoded varint (IPv6 halves need all 64 bits). */
export function varintToBigInt(encoded: Uint8Array): bigint {
  let v = 0n;
  for (let i = encoded.length - 1; i >= 0; i--) v = (v << 7n) | BigInt(encoded[i] & 0x7f);
  return v;
}

/** Decodes every field of a message in order. Throws ProtobufError on truncated or malformed input. */
export function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new ProtobufError('truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new ProtobufError('varint too long');
  };
  while (pos < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) throw new ProtobufError('field number 0');
    switch (wireType) {
      case WireType.Varint: {
        const start = pos;
        const value = varint();
        fields.push({ number, wireType, value, varint: buf.subarray(start, pos) });
        break;
      }
      case WireType.Bytes: {
        const len = varint();
        if (pos + len > buf.length) throw new ProtobufError('truncated length-delimited field');
        fields.push({ number, wireType, value: len, bytes: buf.subarray(pos, pos + len) });
        pos += len;
        break;
      }
      case WireType.Fixed64:
        if (pos + 8 > buf.length) throw new ProtobufError('truncated fixed64');
        pos += 8;
        fields.push({ number, wireType, value: 0 });
        break;
      case WireType.Fixed32:
        if (pos + 4 > buf.length) throw new ProtobufError('truncated fixed32');
        pos += 4;
        fields.push({ number, wireType, value: 0 });
        break;
      default:
        throw new ProtobufError(`unsupported wire type ${wireType}`);
    }
  }
  return fields;
}

/** Decodes a packed repeated varint field. */
export function readPackedVarints(buf: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 10) throw new ProtobufError('varint too long');
      if (pos >= buf.length) throw new ProtobufError('truncated packed varint');
      const b = buf[pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
    }
    out.push(result);
  }
  return out;
}

/** Appends fields in the order called; callers call in ascending field order to stay canonical. */
export class ProtobufWriter {
  private chunks: number[] = [];

  private varint(v: number): void {
    if (!Number.isInteger(v) || v < 0) throw new ProtobufError(`cannot encode ${v} as a varint`);
    let n = v;
    while (n >= 128) {
      this.chunks.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.chunks.push(n);
  }

  private key(field: number, wireType: WireType): void {
    this.varint(field * 8 + wireType);
  }

  /** Writes a varint field, omitted when zero (proto3). */
  uint(field: number, v: number): this {
    if (v !== 0) {
      this.key(field, WireType.Varint);
      this.varint(v);
    }
    return this;
  }

  /** A uint64 that may exceed 2^53 (IPv6 address halves). */
  uint64(field: number, v: bigint): this {
    if (v === 0n) return this;
    this.key(field, WireType.Varint);
    let n = v;
    while (n >= 128n) {
      this.chunks.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.chunks.push(Number(n));
    return this;
  }

  bool(field: number, v: boolean): this {
    return this.uint(field, v ? 1 : 0);
  }

  /** Writes a bytes field, omitted when empty (proto3). */
  bytes(field: number, v: Uint8Array | undefined): this {
    if (v && v.length > 0) {
      this.key(field, WireType.Bytes);
      this.varint(v.length);
      for (const b of v) this.chunks.push(b);
    }
    return this;
  }

  /** Writes an embedded message even when empty: Nebula rejects a NebulaMeta without Details. */
  message(field: number, v: Uint8Array): this {
    this.key(field, WireType.Bytes);
    this.varint(v.length);
    for (const b of v) this.chunks.push(b);
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

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
