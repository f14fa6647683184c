// A message's fields as a list, for Nebula's small generated messages (lighthouse, relay, and our NAT tests), read with
// gogo's rules (reader.ts), and the typed accessors their decoders share. As in Nebula's generated Unmarshal,
// a KNOWN field with the wrong wire type makes the whole message invalid (the accessors throw), while a field the
// decoder does not ask for is ignored, whatever its wire type, a group included (docs/wire-format.md).

import { ProtoReader, ProtobufError, varint64ToBigInt, WireType, type Varint64 } from './reader.js';

export interface Field {
  number: number;
  wireType: WireType;
  /** Varint fields: the exact value as two 32-bit halves; { lo: 0, hi: 0 } for other wire types. */
  varint: Varint64;
  /** Length-delimited fields: a view into the input. */
  bytes?: Uint8Array;
}

const NO_VARINT: Varint64 = { lo: 0, hi: 0 };

/** Every field of a message in order; a group's contents are skipped (the group itself is listed). */
export function readFields(buf: Uint8Array): Field[] {
  const r = new ProtoReader(buf, 'gogo');
  const fields: Field[] = [];
  while (!r.done()) {
    const [number, wireType] = r.tag();
    if (wireType === WireType.Varint) fields.push({ number, wireType, varint: r.varint64() });
    else if (wireType === WireType.Bytes) fields.push({ number, wireType, varint: NO_VARINT, bytes: r.bytes() });
    else {
      r.skip(number, wireType);
      fields.push({ number, wireType, varint: NO_VARINT });
    }
  }
  return fields;
}

function expect(f: Field, wireType: WireType, what: string): void {
  if (f.wireType !== wireType)
    throw new ProtobufError(`field ${f.number}: wrong wire type ${f.wireType}, expected ${what}`);
}

/** A uint32 field: the low 32 bits, as Go keeps them. */
export function fieldUint32(f: Field): number {
  expect(f, WireType.Varint, 'a varint');
  return f.varint.lo;
}

/**
 * An enum field: Go keeps the low 32 bits (as an int32). Our decoders only compare it with the known values, so it is
 * kept unsigned, which ProtobufWriter can write back (a negative enum would need Go's 10-byte sign extension).
 */
export function fieldEnum(f: Field): number {
  expect(f, WireType.Varint, 'a varint');
  return f.varint.lo;
}

/** A uint64 field, exact. */
export function fieldUint64(f: Field): bigint {
  expect(f, WireType.Varint, 'a varint');
  return varint64ToBigInt(f.varint);
}

/** A bytes, string or embedded message field. */
export function fieldBytes(f: Field): Uint8Array {
  expect(f, WireType.Bytes, 'length-delimited bytes');
  return f.bytes as Uint8Array;
}

/** The elements of a repeated uint32 field in one field: packed, or a single one (Go accepts both). */
export function fieldRepeatedUint32(f: Field): number[] {
  return f.wireType === WireType.Varint ? [f.varint.lo] : readPackedUint32(fieldBytes(f));
}

/** A packed run of uint32 varints. */
export function readPackedUint32(buf: Uint8Array): number[] {
  const r = new ProtoReader(buf, 'gogo');
  const out: number[] = [];
  while (!r.done()) out.push(r.uint32());
  return out;
}
