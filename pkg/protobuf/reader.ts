// The one protobuf reader under every message mesh decodes (certificates, lighthouse, relay, handshake, NAT tests).
// It is exact: a varint is read as two unsigned 32-bit halves (all 64 bits, nothing rounded), and callers take a
// uint32, a bounded int64, a bool or a bigint uint64 from it.
//
//   tag     = varint( fieldNumber << 3 | wireType )
//   varint  = 7 payload bits per byte, least significant group first, high bit set on all but the last byte
//   wireType 0 varint | 1 fixed64 | 2 length-delimited (varint length, then bytes) | 3 start group | 4 end group
//            5 fixed32 | 6, 7 invalid
//
// Nebula's messages are decoded by three different Go decoders, and we accept and refuse what each does (docs/wire-format.md,
// "Protobuf decoding rules"):
//
//   'gogo'      the gogoproto-generated Unmarshal of Nebula's messages (NebulaMeta, NebulaHandshake, NebulaControl, and
//               our NAT-test messages shaped like them): a varint is at most 10 bytes and bits past 64 are dropped;
//               the field number is the tag's bits above 3 as an int32 and must be positive; an unknown field is
//               skipped, a group by counting start and end tags (end numbers are not matched); a known field with
//               the wrong wire type is refused (fields.ts), a top-level end group and wire types 6 and 7 too.
//   'proto'     google.golang.org/protobuf's proto.Unmarshal (the v1 certificate, cert.pb.go): the 10th byte of a
//               varint may only be 0 or 1; field numbers 1..2^29-1; a group must end with its own number (nesting
//               bounded); a known field with the wrong wire type is an unknown field and skipped (cert-unmarshal.ts).
//   'protowire' the loops Nebula 1.11 writes by hand over protowire.ConsumeTag/ConsumeFieldValue (the handshake
//               payload, handshake/payload.ts): as 'proto' but field numbers up to 2^31-1 (ConsumeTag's limit).

export class ProtobufError extends Error {
  override name = 'ProtobufError';
  readonly code = 'EPROTOBUF';
}

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/** Which of Go's decoders a message is read as (see above). */
export type GoDecoder = 'gogo' | 'proto' | 'protowire';

/** A 64-bit varint split into two unsigned 32-bit halves (JavaScript numbers are exact only to 2^53). */
export interface Varint64 {
  lo: number;
  hi: number;
}

const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const MAX_INT32 = 2 ** 31 - 1;
/** proto and protowire: deeper nesting is refused (an attacker's group chain costs us at most this much recursion). */
const MAX_GROUP_DEPTH = 100;

/** The exact value of a split varint. */
export function varint64ToBigInt(v: Varint64): bigint {
  return (BigInt(v.hi) << 32n) | BigInt(v.lo);
}

export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    readonly rules: GoDecoder,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** The error every refusal throws; a codec with its own error type (certificates) overrides it. */
  protected fail(why: string): Error {
    return new ProtobufError(why);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint64(): Varint64 {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.fail('truncated varint');
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32); // i === 9: only bit 63 survives the 32-bit shift, as Go drops the rest
      if (i === 9 && b > 1 && this.rules !== 'gogo') throw this.fail('varint overflows 64 bits');
      if ((b & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /** A uint32 field: Go keeps the low 32 bits of whatever varint was sent. */
  uint32(): number {
    return this.varint64().lo;
  }

  /** A uint64 field, exact. */
  uint64(): bigint {
    return varint64ToBigInt(this.varint64());
  }

  /** An int64 field where the caller needs a number: refused when it cannot be held exactly. */
  int64(): number {
    const { lo, hi } = this.varint64();
    const signedHi = hi | 0;
    if (signedHi >= 2 ** 21 || signedHi < -(2 ** 21)) throw this.fail('int64 value out of range');
    return signedHi * 2 ** 32 + lo;
  }

  bool(): boolean {
    const { lo, hi } = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** The tag `next` read last. */
  fieldNumber = 0;
  wireType = 0;

  /**
   * Reads the next tag into fieldNumber and wireType (refused as by `tag`); false at the end of the message. For a
   * decoder that visits a message's fields in one pass (lighthouse/meta.ts, read on every host update) rather than
   * listing them first (fields.ts): it then reads the value, or skips it with `skipField`.
   */
  next(): boolean {
    if (this.done()) return false;
    const [fieldNumber, wireType] = this.tag();
    this.fieldNumber = fieldNumber;
    this.wireType = wireType;
    return true;
  }

  /** A known field sent with another wire type: gogo refuses the whole message (as fields.ts's accessors do). */
  expect(wireType: WireType): void {
    if (this.wireType !== wireType)
      throw this.fail(`field ${this.fieldNumber}: wrong wire type ${this.wireType}, expected ${wireType}`);
  }

  /** Skips the value of the field `next` read, as readFields passes over a field no decoder asks for. */
  skipField(): void {
    this.skip(this.fieldNumber, this.wireType);
  }

  /** Returns [fieldNumber, wireType]; refuses what the decoder of `rules` refuses in a tag. */
  tag(): [number, number] {
    const { lo, hi } = this.varint64();
    const wireType = lo & 7;
    if (this.rules === 'gogo') {
      // int32(wire >> 3): bits 3..34 of the tag, signed.
      const fieldNumber = (lo >>> 3) | (hi << 29) | 0;
      if (wireType === WireType.EndGroup) throw this.fail('end group for non-group');
      if (fieldNumber <= 0) throw this.fail(`illegal field number ${fieldNumber}`);
      if (wireType > WireType.Fixed32) throw this.fail(`illegal wire type ${wireType}`);
      return [fieldNumber, wireType];
    }
    const fieldNumber = hi === 0 ? lo >>> 3 : Infinity;
    if (fieldNumber < 1 || fieldNumber > (this.rules === 'proto' ? MAX_FIELD_NUMBER : MAX_INT32))
      throw this.fail('invalid field number');
    if (wireType > WireType.Fixed32) throw this.fail(`invalid wire type ${wireType}`);
    return [fieldNumber, wireType];
  }

  /** Length-delimited payload as a view into the input (no copy). */
  bytes(): Uint8Array {
    const { lo, hi } = this.varint64();
    if (hi !== 0 || lo > this.end - this.pos) throw this.fail('truncated length-delimited field');
    const view = this.buf.subarray(this.pos, this.pos + lo);
    this.pos += lo;
    return view;
  }

  /** Skips the value of a field whose tag was just read. */
  skip(fieldNumber: number, wireType: number): void {
    if (wireType === WireType.StartGroup) {
      if (this.rules === 'gogo') this.skipGroupByDepth();
      else this.skipGroupMatched(fieldNumber, 0);
      return;
    }
    this.skipScalar(wireType);
  }

  private skipScalar(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint64();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      case WireType.Bytes:
        this.bytes();
        return;
      case WireType.EndGroup:
        throw this.fail('unexpected end group');
      default:
        throw this.fail(`illegal wire type ${wireType}`);
    }
  }

  // gogo's skip: inside a group only wire types count (field numbers unchecked), each end closes the innermost
  // start whatever its number. Iterative, so nesting depth costs no stack.
  private skipGroupByDepth(): void {
    let depth = 1;
    while (depth > 0) {
      if (this.done()) throw this.fail('unterminated group');
      const wireType = this.varint64().lo & 7;
      if (wireType === WireType.StartGroup) depth++;
      else if (wireType === WireType.EndGroup) depth--;
      else this.skipScalar(wireType);
    }
  }

  private skipGroupMatched(fieldNumber: number, depth: number): void {
    if (depth >= MAX_GROUP_DEPTH) throw this.fail('groups nested too deeply');
    for (;;) {
      if (this.done()) throw this.fail('unterminated group');
      const [num, type] = this.tag();
      if (type === WireType.EndGroup) {
        if (num !== fieldNumber) throw this.fail('mismatched end group');
        return;
      }
      if (type === WireType.StartGroup) this.skipGroupMatched(num, depth + 1);
      else this.skipScalar(type);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw this.fail('truncated fixed-width field');
    this.pos += n;
  }
}
