// Nebula v1 certificate -> protobuf bytes (`RawNebulaCertificate`, docs/wire-format.md). Decoding: cert-unmarshal.ts.
//
// Written by hand rather than generated: the signature and the fingerprint are computed over Go's *re-marshal* of
// the decoded struct, so our encoder has to reproduce that canonical form byte for byte (ascending field order,
// proto3 zero values omitted, packed uint32s, unknown fields dropped), and with a 9-field schema a hand codec is
// smaller and easier to audit than a protobuf runtime plus generated code.
//
//   RawNebulaCertificate
//   +------+-----+---------------------------------+------+-----+-------------------+
//   | 0x0A | len | RawNebulaCertificateDetails     | 0x12 | len | signature (64 B)  |
//   +------+-----+---------------------------------+------+-----+-------------------+
//
//   RawNebulaCertificateDetails (each field present only when non-zero, in this order)
//   0x0A len name (UTF-8)
//   0x12 len packed varint ip0 mask0 ip1 mask1 ...   each a big-endian-read uint32
//   0x1A len packed varint net0 mask0 ...
//   0x22 len group                                   once per group
//   0x28 varint notBefore                            int64, Unix seconds
//   0x30 varint notAfter                             int64, Unix seconds
//   0x3A len publicKey                               32 B (omitted in the handshake copy)
//   0x40 0x01                                        isCA
//   0x4A len issuer                                  raw 32-byte SHA-256 of the CA certificate

import type { Ipv4Net } from '../ip/ipv4.js';
import { CertError } from './errors.js';
import { int64Size, varintSize, writeInt64, writeVarint } from './proto-wire.js';
import type { CertDetails, NebulaCertificate } from './types.js';

const utf8Encoder = new TextEncoder();

interface DetailsParts {
  name: Uint8Array;
  groups: Uint8Array[];
  issuer: Uint8Array;
  ipsLen: number;
  subnetsLen: number;
  size: number;
}

function encodeString(s: string, what: string): Uint8Array {
  // A lone surrogate would be silently replaced by U+FFFD, signing bytes the caller never meant.
  if (/\p{Surrogate}/u.test(s)) throw new CertError('ECERTENCODE', `${what} is not valid Unicode`);
  return utf8Encoder.encode(s);
}

function netsPayloadLen(nets: Ipv4Net[]): number {
  let n = 0;
  for (const net of nets) n += varintSize(net.ip >>> 0) + varintSize(net.mask >>> 0);
  return n;
}

function checkTime(t: number, what: string): void {
  if (!Number.isSafeInteger(t)) throw new CertError('ECERTENCODE', `${what} must be whole Unix seconds, got ${t}`);
}

function fieldSize(payloadLen: number): number {
  return 1 + varintSize(payloadLen) + payloadLen;
}

function layoutDetails(d: CertDetails, withPublicKey: boolean): DetailsParts {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(d.issuer)) {
    throw new CertError('ECERTENCODE', `issuer is not a hex string: ${JSON.stringify(d.issuer)}`);
  }
  checkTime(d.notBefore, 'notBefore');
  checkTime(d.notAfter, 'notAfter');
  const parts: DetailsParts = {
    name: encodeString(d.name, 'name'),
    groups: d.groups.map((g) => encodeString(g, 'group')),
    issuer: new Uint8Array(Buffer.from(d.issuer, 'hex')),
    ipsLen: netsPayloadLen(d.ips),
    subnetsLen: netsPayloadLen(d.subnets),
    size: 0,
  };
  let size = 0;
  if (parts.name.length > 0) size += fieldSize(parts.name.length);
  if (parts.ipsLen > 0) size += fieldSize(parts.ipsLen);
  if (parts.subnetsLen > 0) size += fieldSize(parts.subnetsLen);
  for (const g of parts.groups) size += fieldSize(g.length);
  if (d.notBefore !== 0) size += 1 + int64Size(d.notBefore);
  if (d.notAfter !== 0) size += 1 + int64Size(d.notAfter);
  if (withPublicKey && d.publicKey.length > 0) size += fieldSize(d.publicKey.length);
  if (d.isCA) size += 2;
  if (parts.issuer.length > 0) size += fieldSize(parts.issuer.length);
  parts.size = size;
  return parts;
}

function writeBytesField(buf: Uint8Array, off: number, tag: number, payload: Uint8Array): number {
  buf[off++] = tag;
  off = writeVarint(buf, off, payload.length);
  buf.set(payload, off);
  return off + payload.length;
}

function writeNets(buf: Uint8Array, off: number, tag: number, nets: Ipv4Net[], payloadLen: number): number {
  buf[off++] = tag;
  off = writeVarint(buf, off, payloadLen);
  for (const net of nets) {
    off = writeVarint(buf, off, net.ip >>> 0);
    off = writeVarint(buf, off, net.mask >>> 0);
  }
  return off;
}

function writeDetails(d: CertDetails, p: DetailsParts, withPublicKey: boolean, buf: Uint8Array, off: number): number {
  if (p.name.length > 0) off = writeBytesField(buf, off, 0x0a, p.name);
  if (p.ipsLen > 0) off = writeNets(buf, off, 0x12, d.ips, p.ipsLen);
  if (p.subnetsLen > 0) off = writeNets(buf, off, 0x1a, d.subnets, p.subnetsLen);
  for (const g of p.groups) off = writeBytesField(buf, off, 0x22, g);
  if (d.notBefore !== 0) {
    buf[off++] = 0x28;
    off = writeInt64(buf, off, d.notBefore);
  }
  if (d.notAfter !== 0) {
    buf[off++] = 0x30;
    off = writeInt64(buf, off, d.notAfter);
  }
  if (withPublicKey && d.publicKey.length > 0) off = writeBytesField(buf, off, 0x3a, d.publicKey);
  if (d.isCA) {
    buf[off++] = 0x40;
    buf[off++] = 0x01;
  }
  if (p.issuer.length > 0) off = writeBytesField(buf, off, 0x4a, p.issuer);
  return off;
}

/** The canonical bytes of the details: what the CA signs. */
export function marshalDetails(d: CertDetails): Uint8Array {
  const parts = layoutDetails(d, true);
  const out = new Uint8Array(parts.size);
  writeDetails(d, parts, true, out, 0);
  return out;
}

function marshal(c: NebulaCertificate, withPublicKey: boolean): Uint8Array {
  const parts = layoutDetails(c.details, withPublicKey);
  const sigLen = c.signature.length;
  const out = new Uint8Array(fieldSize(parts.size) + (sigLen > 0 ? fieldSize(sigLen) : 0));
  out[0] = 0x0a;
  let off = writeVarint(out, 1, parts.size);
  off = writeDetails(c.details, parts, withPublicKey, out, off);
  if (sigLen > 0) writeBytesField(out, off, 0x12, c.signature);
  return out;
}

/** The canonical bytes of the whole certificate: what the fingerprint hashes and what PEM files hold. */
export function marshalCertificate(c: NebulaCertificate): Uint8Array {
  return marshal(c, true);
}

/** The certificate as Nebula sends it in a handshake: PublicKey omitted (the peer takes it from Noise). */
export function marshalCertificateForHandshake(c: NebulaCertificate): Uint8Array {
  return marshal(c, false);
}
