import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import {
  DnsError,
  DnsOpcode,
  DnsRcode,
  DnsType,
  encodeQuery,
  encodeReply,
  nameLabels,
  parseQuery,
  parseResponse,
  replySize,
  type DnsReply,
} from '../../pkg/lighthouse/dns-wire.js';
import { seededRandom } from './helpers/seeded-random.js';

// The hand-written DNS codec of the lighthouse's responder: queries built byte by byte, replies checked byte by
// byte, and bad input that must fail only with a DnsError.

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// id beef, RD, one question: "n1.Mesh" A IN
const QUERY_A = 'beef 0100 0001 0000 0000 0000  02 6e31 04 4d657368 00  0001 0001';

function throwsDnsError(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof DnsError && (code === undefined || e.code === code));
}

test('a query built by hand parses to its id, flags and question with the case of the name kept', () => {
  const q = parseQuery(bytes(QUERY_A));
  assert.equal(q.id, 0xbeef);
  assert.equal(q.opcode, DnsOpcode.Query);
  assert.equal(q.rd, true);
  assert.equal(q.cd, false);
  assert.equal(q.question.name, 'n1.Mesh');
  assert.equal(q.question.type, DnsType.A);
  assert.equal(q.question.class, 1);
  assert.deepEqual(
    q.question.labels.map((l) => Buffer.from(l).toString()),
    ['n1', 'Mesh'],
  );
});

test('a question name may point back into the message, and a pointer loop fails instead of spinning', () => {
  // The question's name is a pointer to a name placed in the (ignored) bytes after it.
  const pointing = bytes('0001 0000 0001 0000 0000 0000  c0 12 0010 0001  02 6e31 00');
  assert.equal(parseQuery(pointing).question.name, 'n1');
  const loop = bytes('0001 0000 0001 0000 0000 0000  c0 0c 0001 0001');
  throwsDnsError(() => parseQuery(loop), 'EDNSNAME');
});

test('a query for the root name has an empty name', () => {
  assert.equal(parseQuery(bytes('0001 0000 0001 0000 0000 0000 00 0010 0001')).question.name, '');
});

test('encodeQuery writes what parseQuery reads', () => {
  const q = parseQuery(encodeQuery(7, 'host.example.', DnsType.TXT));
  assert.deepEqual([q.id, q.rd, q.question.name, q.question.type], [7, true, 'host.example', DnsType.TXT]);
  assert.equal(hex(encodeQuery(0xbeef, 'n1.Mesh', DnsType.A)), hex(bytes(QUERY_A)));
});

test('an A answer is written byte by byte as expected, the name spelled out in full', () => {
  const question = parseQuery(bytes(QUERY_A)).question;
  const reply: DnsReply = {
    id: 0xbeef,
    opcode: 0,
    rd: true,
    cd: false,
    rcode: 0,
    question,
    answers: [{ type: DnsType.A, ttl: 3600, address: parseIpv4('10.99.0.2') }],
  };
  const out = new Uint8Array(replySize(reply));
  assert.equal(encodeReply(reply, out), out.length);
  const expected =
    'beef 8100 0001 0001 0000 0000  02 6e31 04 4d657368 00 0001 0001  02 6e31 04 4d657368 00 0001 0001 00000e10 0004 0a630002';
  assert.equal(hex(out), hex(bytes(expected)));
});

test('a reply parses back to its answers', () => {
  const question = parseQuery(encodeQuery(9, '10.99.0.2', DnsType.TXT)).question;
  const reply: DnsReply = {
    id: 9,
    opcode: 0,
    rd: true,
    cd: true,
    rcode: 0,
    question,
    answers: [
      { type: DnsType.TXT, ttl: 60, strings: ['Name: n1', 'Groups [a b]'] },
      { type: DnsType.A, ttl: 5, address: parseIpv4('10.99.0.3') },
    ],
  };
  const r = parseResponse(encodeBuf(reply));
  assert.equal(r.id, 9);
  assert.equal(r.rcode, DnsRcode.NoError);
  assert.equal(r.authoritative, false);
  assert.equal(r.question?.name, '10.99.0.2');
  assert.deepEqual(r.answers, [
    { name: '10.99.0.2', type: DnsType.TXT, ttl: 60, strings: ['Name: n1', 'Groups [a b]'] },
    { name: '10.99.0.2', type: DnsType.A, ttl: 5, address: parseIpv4('10.99.0.3') },
  ]);
});

test('a TXT string longer than 255 bytes is cut into several character-strings', () => {
  const question = parseQuery(encodeQuery(1, 'x', DnsType.TXT)).question;
  const long = 'g'.repeat(600);
  const r = parseResponse(
    encodeBuf({
      id: 1,
      opcode: 0,
      rd: false,
      cd: false,
      rcode: 0,
      question,
      answers: [{ type: DnsType.TXT, ttl: 1, strings: [long, ''] }],
    }),
  );
  const txt = r.answers[0] as { strings: string[] };
  assert.deepEqual(
    txt.strings.map((s) => s.length),
    [255, 255, 90, 0],
  );
  assert.equal(txt.strings.join(''), long);
});

test('a header-only error reply keeps the id and says its rcode', () => {
  const out = encodeBuf({
    id: 0x1234,
    opcode: 0,
    rd: true,
    cd: false,
    rcode: DnsRcode.FormErr,
    question: null,
    answers: [],
  });
  assert.equal(hex(out), '123481010000000000000000');
});

test('encodeReply refuses a buffer that is too small and answers without a question', () => {
  const question = parseQuery(bytes(QUERY_A)).question;
  const reply: DnsReply = { id: 1, opcode: 0, rd: false, cd: false, rcode: 0, question, answers: [] };
  throwsDnsError(() => encodeReply(reply, new Uint8Array(replySize(reply) - 1)), 'EDNSSPACE');
  throwsDnsError(
    () => encodeReply({ ...reply, question: null, answers: [{ type: DnsType.A, ttl: 1, address: 1 }] }),
    'EDNSCOUNTS',
  );
});

test('names with an empty or over-long label are refused', () => {
  throwsDnsError(() => nameLabels('a..b'), 'EDNSNAME');
  throwsDnsError(() => nameLabels('x'.repeat(64)), 'EDNSNAME');
  throwsDnsError(() => nameLabels(Array(130).fill('ab').join('.')), 'EDNSNAME');
});

test('queries a lighthouse must not answer as queries fail with the reason as the code', () => {
  throwsDnsError(() => parseQuery(bytes('beef 0100 0001')), 'EDNSSHORT');
  throwsDnsError(() => parseQuery(bytes('beef 8100 0001 0000 0000 0000 00 0001 0001')), 'EDNSRESPONSE');
  throwsDnsError(() => parseQuery(bytes('beef 1000 0001 0000 0000 0000 00 0001 0001')), 'EDNSOPCODE');
  throwsDnsError(() => parseQuery(bytes('beef 0100 0002 0000 0000 0000 00 0001 0001 00 0001 0001')), 'EDNSCOUNTS');
  throwsDnsError(() => parseQuery(bytes('beef 0100 0001 0000 0000 0003 00 0001 0001')), 'EDNSCOUNTS');
  throwsDnsError(() => parseQuery(bytes('beef 0100 0001 0000 0000 0000 02 6e31 00 0001')), 'EDNSTRUNCATED');
  throwsDnsError(() => parseQuery(bytes('beef 0100 0001 0000 0000 0000 40 00 0001 0001')), 'EDNSNAME');
  // The error carries the header, so that the responder can answer FORMERR or NOTIMP with the right id.
  assert.throws(
    () => parseQuery(bytes('beef 2100 0001 0000 0000 0000')),
    (e: unknown) => e instanceof DnsError && e.header?.id === 0xbeef,
  );
});

test('every truncation of a query and of a reply fails only with a DnsError', () => {
  const query = bytes(QUERY_A);
  const question = parseQuery(query).question;
  const reply = encodeBuf({
    id: 1,
    opcode: 0,
    rd: true,
    cd: false,
    rcode: 0,
    question,
    answers: [{ type: DnsType.TXT, ttl: 1, strings: ['abc', 'de'] }],
  });
  for (let n = 0; n < query.length; n++) throwsDnsError(() => parseQuery(query.subarray(0, n)));
  for (let n = 0; n < reply.length; n++) throwsDnsError(() => parseResponse(reply.subarray(0, n)));
});

test('random and mutated bytes never throw anything but a DnsError', () => {
  const rand = seededRandom(0xd45);
  const seed = bytes(QUERY_A);
  for (let i = 0; i < 20_000; i++) {
    let buf: Uint8Array;
    if (i % 2 === 0) {
      buf = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
    } else {
      buf = Uint8Array.from(seed);
      for (let k = 0; k < 3; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
    }
    for (const parse of [parseQuery, parseResponse]) {
      try {
        parse(buf);
      } catch (e) {
        assert.ok(e instanceof DnsError, `non-DnsError on ${hex(buf)}: ${String(e)}`);
      }
    }
  }
});

function encodeBuf(reply: DnsReply): Uint8Array {
  const out = new Uint8Array(replySize(reply));
  encodeReply(reply, out);
  return out;
}
