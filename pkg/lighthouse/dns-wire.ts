// DNS messages (RFC 1035 §4.1) for the lighthouse's DNS responder, written by hand: it only ever answers one
// question per query with A, AAAA or TXT records, which takes little code, where a general DNS library would bring zone
// files, EDNS and every record type, and none is in the dependency tree. The client half (encodeQuery,
// parseResponse) is for tests and probes.
//
// Header, 12 bytes, big-endian:
//
//    0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
//  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//  |                      ID                       |
//  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//  |QR|  Opcode   |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
//  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//  |        QDCOUNT        |        ANCOUNT        |   (16 bits each)
//  |        NSCOUNT        |        ARCOUNT        |
//  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//
// Question: QNAME | QTYPE (16) | QCLASS (16). A name is a run of labels, each a length byte (1-63) and that many
// bytes, ended by a zero byte, or cut short by a 2-byte pointer (top bits 11, then a 14-bit offset from the start
// of the message) to where the rest of the name already appears.
//
// Answer record: NAME | TYPE (16) | CLASS (16) | TTL (32) | RDLENGTH (16) | RDATA. An A record's RDATA is the
// 4-byte address, an AAAA record's (RFC 3596) the 16-byte address; a TXT record's is one or more character-strings,
// each a length byte and up to 255 bytes.
//
// Our answers spell the question's name out in full rather than point to it, as Nebula's do, so that replies are
// byte for byte Nebula's.

import type { Ipv4 } from '../ip/ipv4.js';
import { formatIpAddr, ipv6Addr } from '../ip/prefix.js';
import { vpnIpBytes } from '../ip/vpn-ip.js';

export const DNS_HEADER_LEN = 12;
const MAX_LABEL = 63;
const MAX_NAME = 255;
const MAX_STRING = 255;
/** A name may not take more jumps than this; a loop of pointers fails instead of running forever. */
const MAX_POINTERS = 16;

export const DnsType = { A: 1, TXT: 16, AAAA: 28 } as const;
export const DNS_CLASS_IN = 1;
export const DnsOpcode = { Query: 0, Notify: 4 } as const;
export const DnsRcode = { NoError: 0, FormErr: 1, ServFail: 2, NxDomain: 3, NotImp: 4, Refused: 5 } as const;

/** Flag bits of the header's second word. */
export const DnsFlag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, CD: 0x0010 } as const;
const { QR, AA, TC, RD, CD } = DnsFlag;

export type DnsErrorCode =
  | 'EDNSSHORT' // fewer than 12 bytes: not even a header
  | 'EDNSRESPONSE' // the QR bit is set: a response where a query was expected
  | 'EDNSOPCODE' // an opcode other than QUERY or NOTIFY
  | 'EDNSCOUNTS' // not one question, or more records than a query carries
  | 'EDNSNAME' // a name that is truncated, too long, or loops through pointers
  | 'EDNSTRUNCATED' // the message ends inside a question or record
  | 'EDNSSPACE'; // the output buffer is too small

export class DnsError extends Error {
  override name = 'DnsError';
  constructor(
    readonly code: DnsErrorCode,
    message: string,
    /** The header, when it could be read: enough to send back an error reply. */
    readonly header: DnsHeader | null = null,
  ) {
    super(message);
  }
}

export interface DnsHeader {
  id: number;
  /** The 16 flag bits as on the wire (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode). */
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface DnsQuestion {
  /** The labels as sent (case kept), for echoing the question back. */
  labels: Uint8Array[];
  /** The labels as text joined by '.', without the root's trailing dot ('' for the root). */
  name: string;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  question: DnsQuestion;
}

export type DnsAnswer =
  | { type: typeof DnsType.A; ttl: number; address: Ipv4 }
  /** `address`: IPv6 text (a VpnIp of pkg/ip/vpn-ip.ts). */
  | { type: typeof DnsType.AAAA; ttl: number; address: string }
  | { type: typeof DnsType.TXT; ttl: number; strings: string[] };

export interface DnsReply {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  rcode: number;
  /** Echoed back; null for a header-only error reply. */
  question: DnsQuestion | null;
  /** Every answer is for the question's name; there must be a question when there are answers. */
  answers: DnsAnswer[];
}

/** An answer as a client reads it: A, AAAA and TXT decoded, anything else left as bytes. */
export type ParsedAnswer =
  | { name: string; type: typeof DnsType.A; ttl: number; address: Ipv4 }
  /** `address`: RFC 5952 text. */
  | { name: string; type: typeof DnsType.AAAA; ttl: number; address: string }
  | { name: string; type: typeof DnsType.TXT; ttl: number; strings: string[] }
  | { name: string; type: number; ttl: number; data: Uint8Array };

export interface DnsResponse {
  id: number;
  opcode: number;
  rcode: number;
  authoritative: boolean;
  truncated: boolean;
  question: DnsQuestion | null;
  answers: ParsedAnswer[];
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

export function parseDnsHeader(buf: Uint8Array): DnsHeader {
  if (buf.length < DNS_HEADER_LEN) throw new DnsError('EDNSSHORT', `DNS message of ${buf.length} bytes has no header`);
  const v = view(buf);
  return {
    id: v.getUint16(0),
    flags: v.getUint16(2),
    qdcount: v.getUint16(4),
    ancount: v.getUint16(6),
    nscount: v.getUint16(8),
    arcount: v.getUint16(10),
  };
}

/**
 * A query as the lighthouse accepts it: the limits are those of the DNS library Nebula 1.6.1 uses (one question,
 * at most one answer and one authority record, at most two additional ones). Records after the question are
 * not read. Throws DnsError only.
 */
export function parseQuery(buf: Uint8Array): DnsQuery {
  const header = parseDnsHeader(buf);
  const fail = (code: DnsErrorCode, message: string): DnsError => new DnsError(code, message, header);
  if (header.flags & QR) throw fail('EDNSRESPONSE', 'DNS message is a response, not a query');
  const opcode = (header.flags >> 11) & 0xf;
  if (opcode !== DnsOpcode.Query && opcode !== DnsOpcode.Notify)
    throw fail('EDNSOPCODE', `DNS opcode ${opcode} is not supported`);
  if (header.qdcount !== 1 || header.ancount > 1 || header.nscount > 1 || header.arcount > 2) {
    throw fail(
      'EDNSCOUNTS',
      `DNS query counts ${header.qdcount}/${header.ancount}/${header.nscount}/${header.arcount} are not those of a query`,
    );
  }
  let question: DnsQuestion;
  try {
    question = readQuestion(buf, DNS_HEADER_LEN).question;
  } catch (e) {
    if (e instanceof DnsError) throw fail(e.code, e.message);
    throw e;
  }
  return { id: header.id, opcode, rd: (header.flags & RD) !== 0, cd: (header.flags & CD) !== 0, question };
}

function readQuestion(buf: Uint8Array, offset: number): { question: DnsQuestion; end: number } {
  const { labels, end } = readName(buf, offset);
  if (end + 4 > buf.length) throw new DnsError('EDNSTRUNCATED', 'DNS question ends before its type and class');
  const v = view(buf);
  const question = { labels, name: labelsText(labels), type: v.getUint16(end), class: v.getUint16(end + 2) };
  return { question, end: end + 4 };
}

/** The labels of the name at `offset`, following pointers, and where the name ends at `offset`. */
function readName(buf: Uint8Array, offset: number): { labels: Uint8Array[]; end: number } {
  const labels: Uint8Array[] = [];
  let at = offset;
  let end = -1;
  let jumps = 0;
  let length = 1;
  for (;;) {
    if (at >= buf.length) throw new DnsError('EDNSNAME', 'DNS name runs past the end of the message');
    const len = buf[at];
    if (len === 0) {
      if (end < 0) end = at + 1;
      return { labels, end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 2 > buf.length) throw new DnsError('EDNSNAME', 'DNS name pointer is cut short');
      if (++jumps > MAX_POINTERS) throw new DnsError('EDNSNAME', 'DNS name has too many pointers');
      if (end < 0) end = at + 2;
      at = ((len & 0x3f) << 8) | buf[at + 1];
      continue;
    }
    if (len > MAX_LABEL) throw new DnsError('EDNSNAME', `DNS label length byte 0x${len.toString(16)} is not a length`);
    if (at + 1 + len > buf.length) throw new DnsError('EDNSNAME', 'DNS label runs past the end of the message');
    length += len + 1;
    if (length > MAX_NAME) throw new DnsError('EDNSNAME', 'DNS name is longer than 255 bytes');
    labels.push(buf.subarray(at + 1, at + 1 + len));
    at += 1 + len;
  }
}

function labelsText(labels: Uint8Array[]): string {
  return labels.map((l) => utf8.decode(l)).join('.');
}

/** "host.example." or "host.example" as labels; throws DnsError for an empty label or one too long. */
export function nameLabels(name: string): Uint8Array[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  const labels = trimmed.split('.').map((l) => utf8Encoder.encode(l));
  if (labels.some((l) => l.length === 0 || l.length > MAX_LABEL))
    throw new DnsError('EDNSNAME', `DNS name ${JSON.stringify(name)} has an empty or over-long label`);
  if (nameSize(labels) > MAX_NAME)
    throw new DnsError('EDNSNAME', `DNS name ${JSON.stringify(name)} is longer than 255 bytes`);
  return labels;
}

function nameSize(labels: Uint8Array[]): number {
  return labels.reduce((n, l) => n + 1 + l.length, 1);
}

function writeName(out: Uint8Array, at: number, labels: Uint8Array[]): number {
  for (const l of labels) {
    out[at++] = l.length;
    out.set(l, at);
    at += l.length;
  }
  out[at++] = 0;
  return at;
}

/** A string as TXT character-strings: UTF-8, cut into pieces of at most 255 bytes (an empty one stays one). */
function characterStrings(s: string): Uint8Array[] {
  const bytes = utf8Encoder.encode(s);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length || pieces.length === 0; i += MAX_STRING)
    pieces.push(bytes.subarray(i, i + MAX_STRING));
  return pieces;
}

function rdataSize(a: DnsAnswer): number {
  if (a.type === DnsType.A) return 4;
  if (a.type === DnsType.AAAA) return 16;
  return a.strings.flatMap(characterStrings).reduce((n, p) => n + 1 + p.length, 0);
}

/** Bytes `encodeReply` writes for `reply`. */
export function replySize(reply: DnsReply): number {
  const nameBytes = reply.question ? nameSize(reply.question.labels) : 0;
  let n = DNS_HEADER_LEN + (reply.question ? nameBytes + 4 : 0);
  for (const a of reply.answers) n += nameBytes + 10 + rdataSize(a);
  return n;
}

/**
 * Writes `reply` into `out` and returns the length. The flags are those of Nebula's replies: QR set, opcode, RD
 * and CD echoed, not authoritative, no recursion available.
 */
export function encodeReply(reply: DnsReply, out: Uint8Array = new Uint8Array(replySize(reply))): number {
  const size = replySize(reply);
  if (out.length < size) throw new DnsError('EDNSSPACE', `DNS reply needs ${size} bytes, the buffer has ${out.length}`);
  if (reply.answers.length > 0 && !reply.question)
    throw new DnsError('EDNSCOUNTS', 'DNS answers need a question to name');
  const v = view(out);
  const flags = QR | ((reply.opcode & 0xf) << 11) | (reply.rd ? RD : 0) | (reply.cd ? CD : 0) | (reply.rcode & 0xf);
  writeHeader(v, {
    id: reply.id,
    flags,
    qdcount: reply.question ? 1 : 0,
    ancount: reply.answers.length,
    nscount: 0,
    arcount: 0,
  });
  let at = DNS_HEADER_LEN;
  if (reply.question) {
    at = writeName(out, at, reply.question.labels);
    v.setUint16(at, reply.question.type);
    v.setUint16(at + 2, reply.question.class);
    at += 4;
  }
  const answerName = reply.question?.labels ?? [];
  for (const a of reply.answers) {
    at = writeName(out, at, answerName);
    v.setUint16(at, a.type);
    v.setUint16(at + 2, DNS_CLASS_IN);
    v.setUint32(at + 4, a.ttl >>> 0);
    v.setUint16(at + 8, rdataSize(a));
    at += 10;
    if (a.type === DnsType.A) {
      v.setUint32(at, a.address >>> 0);
      at += 4;
    } else if (a.type === DnsType.AAAA) {
      out.set(vpnIpBytes(a.address), at);
      at += 16;
    } else {
      for (const piece of a.strings.flatMap(characterStrings)) {
        out[at++] = piece.length;
        out.set(piece, at);
        at += piece.length;
      }
    }
  }
  return at;
}

/** A one-question query (RD set, as stub resolvers send), for clients and tests. */
export function encodeQuery(id: number, name: string, type: number, out?: Uint8Array): Uint8Array {
  const labels = nameLabels(name);
  const size = DNS_HEADER_LEN + nameSize(labels) + 4;
  const buf = out ?? new Uint8Array(size);
  if (buf.length < size) throw new DnsError('EDNSSPACE', `DNS query needs ${size} bytes, the buffer has ${buf.length}`);
  const v = view(buf);
  writeHeader(v, { id, flags: RD, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 });
  const at = writeName(buf, DNS_HEADER_LEN, labels);
  v.setUint16(at, type);
  v.setUint16(at + 2, DNS_CLASS_IN);
  return buf.subarray(0, size);
}

/** A response as a client reads it: the header, the question, and the answer section. Throws DnsError only. */
export function parseResponse(buf: Uint8Array): DnsResponse {
  const header = parseDnsHeader(buf);
  if (!(header.flags & QR)) throw new DnsError('EDNSRESPONSE', 'DNS message is a query, not a response', header);
  if (header.qdcount > 1) throw new DnsError('EDNSCOUNTS', `DNS response has ${header.qdcount} questions`, header);
  const v = view(buf);
  let at = DNS_HEADER_LEN;
  let question: DnsQuestion | null = null;
  if (header.qdcount === 1) ({ question, end: at } = readQuestion(buf, at));
  const answers: ParsedAnswer[] = [];
  for (let i = 0; i < header.ancount; i++) {
    const { labels, end } = readName(buf, at);
    if (end + 10 > buf.length) throw new DnsError('EDNSTRUNCATED', 'DNS record ends inside its fixed fields', header);
    const type = v.getUint16(end);
    const ttl = v.getUint32(end + 4);
    const rdlength = v.getUint16(end + 8);
    const start = end + 10;
    if (start + rdlength > buf.length) throw new DnsError('EDNSTRUNCATED', 'DNS record data runs past the end', header);
    const data = buf.subarray(start, start + rdlength);
    answers.push(parsedAnswer(labelsText(labels), type, ttl, data, header));
    at = start + rdlength;
  }
  const f = header.flags;
  return {
    id: header.id,
    opcode: (f >> 11) & 0xf,
    rcode: f & 0xf,
    authoritative: (f & AA) !== 0,
    truncated: (f & TC) !== 0,
    question,
    answers,
  };
}

function parsedAnswer(name: string, type: number, ttl: number, data: Uint8Array, header: DnsHeader): ParsedAnswer {
  if (type === DnsType.A && data.length === 4) return { name, type, ttl, address: view(data).getUint32(0) };
  if (type === DnsType.AAAA && data.length === 16) return { name, type, ttl, address: formatIpAddr(ipv6Addr(data)) };
  if (type !== DnsType.TXT) return { name, type, ttl, data };
  const strings: string[] = [];
  for (let at = 0; at < data.length;) {
    const len = data[at];
    if (at + 1 + len > data.length) throw new DnsError('EDNSTRUNCATED', 'TXT string runs past its record', header);
    strings.push(utf8.decode(data.subarray(at + 1, at + 1 + len)));
    at += 1 + len;
  }
  return { name, type: DnsType.TXT, ttl, strings };
}

function writeHeader(v: DataView, h: DnsHeader): void {
  v.setUint16(0, h.id);
  v.setUint16(2, h.flags);
  v.setUint16(4, h.qdcount);
  v.setUint16(6, h.ancount);
  v.setUint16(8, h.nscount);
  v.setUint16(10, h.arcount);
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
