// A small, strict ASN.1 DER reader and writer for exactly what Nebula v2 certificates use: one-byte tags,
// definite lengths in minimal form (at most 4 length bytes), OCTET STRING / UTF8String / INTEGER contents and
// implicitly tagged context fields.
//
//   +-----+--------------------------+-----------------+
//   | tag | length                   | content         |
//   | 1 B | 0x00-0x7f: the length    | `length` bytes  |
//   |     | 0x81-0x84: that many     |                 |
//   |     |   big-endian length bytes|                 |
//   +-----+--------------------------+-----------------+
//
// Why not asn1js or @peculiar/asn1-schema: both decode BER leniently (indefinite and non-minimal lengths), and
// Nebula's acceptance rules are those of Go's cryptobyte, not of a schema: a BOOLEAN is any one byte, the raw
// details element must be kept byte for byte (it is what is signed), and fields after the known ones are ignored.
// Matching that exactly is simpler with ~100 lines that say so than with a general library bent to it.
//
// Every read failure throws DerError; the certificate decoder turns it into Nebula's "bad wire format".

export class DerError extends Error {
  override name = 'DerError';
  readonly code = 'EDER';
}

export interface DerElement {
  tag: number;
  /** The content bytes (a view into the input). */
  content: Uint8Array;
  /** Tag, length and content (a view into the input). */
  element: Uint8Array;
}

export class DerReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  empty(): boolean {
    return this.pos >= this.buf.length;
  }

  peekTag(tag: number): boolean {
    return !this.empty() && this.buf[this.pos] === tag;
  }

  /** The next element whatever its tag. */
  readAny(): DerElement {
    const b = this.buf;
    const start = this.pos;
    if (b.length - start < 2) throw new DerError('truncated element header');
    const tag = b[start];
    if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
    const lenByte = b[start + 1];
    let header = 2;
    let length = lenByte;
    if (lenByte & 0x80) {
      const lenLen = lenByte & 0x7f;
      if (lenLen === 0 || lenLen > 4 || b.length - start < 2 + lenLen) throw new DerError('bad length form');
      length = 0;
      for (let i = 0; i < lenLen; i++) length = length * 256 + b[start + 2 + i];
      if (length < 128) throw new DerError('length should have used the short form');
      if (b[start + 2] === 0) throw new DerError('length has a leading zero byte');
      header += lenLen;
    }
    if (length > b.length - start - header) throw new DerError('element runs past the end of its container');
    this.pos = start + header + length;
    return { tag, content: b.subarray(start + header, this.pos), element: b.subarray(start, this.pos) };
  }

  /** The content of the next element, which must have `tag`. */
  read(tag: number): Uint8Array {
    const e = this.readAny();
    if (e.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${e.tag.toString(16)}`);
    return e.content;
  }

  /** The whole next element (header included), which must have `tag`. */
  readElement(tag: number): Uint8Array {
    const e = this.readAny();
    if (e.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${e.tag.toString(16)}`);
    return e.element;
  }

  /** The content of the next element when it has `tag`, otherwise undefined and nothing is consumed. */
  readOptional(tag: number): Uint8Array | undefined {
    return this.peekTag(tag) ? this.read(tag) : undefined;
  }

  /** A minimally encoded two's-complement INTEGER of at most 8 bytes, implicitly tagged `tag`. */
  readInt64(tag: number): bigint {
    const c = this.read(tag);
    if (c.length === 0 || c.length > 8) throw new DerError('integer must be 1 to 8 bytes');
    if (c.length > 1 && ((c[0] === 0 && (c[1] & 0x80) === 0) || (c[0] === 0xff && (c[1] & 0x80) !== 0))) {
      throw new DerError('integer is not minimally encoded');
    }
    let v = 0n;
    for (const byte of c) v = (v << 8n) | BigInt(byte);
    return BigInt.asIntN(c.length * 8, v);
  }
}

function lengthBytes(n: number): number[] {
  if (n < 128) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return [0x80 | out.length, ...out];
}

/** One element: tag, minimal length, then the concatenated parts. */
export function derTlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const head = [tag, ...lengthBytes(length)];
  const out = new Uint8Array(head.length + length);
  out.set(head, 0);
  let off = head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A minimal two's-complement INTEGER (as Go's cryptobyte writes int64), implicitly tagged `tag`. */
export function derInt64(tag: number, value: bigint): Uint8Array {
  const v = BigInt.asIntN(64, value);
  let length = 1;
  for (let i = v; i >= 0x80n || i < -0x80n; i >>= 8n) length++;
  const bytes = new Uint8Array(length);
  for (let k = 0; k < length; k++) bytes[k] = Number((v >> BigInt((length - 1 - k) * 8)) & 0xffn);
  return derTlv(tag, bytes);
}
