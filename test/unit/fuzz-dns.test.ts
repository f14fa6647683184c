// Fuzzing the lighthouse's DNS responder: the wire parsers (DnsError only), the responder (never throws, at most
// one datagram out per datagram in, and from outside the overlay no reply larger than the query plus one spelled
// out name) and the real UDP listener on 127.0.0.1 (random and mutated datagrams, then a real query still answers).

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { DnsResponder, respond, type DnsDirectory, type DnsOutcome } from '../../pkg/lighthouse/dns-server.js';
import {
  DnsError,
  DnsType,
  encodeQuery,
  encodeReply,
  parseQuery,
  parseResponse,
  type DnsReply,
} from '../../pkg/lighthouse/dns-wire.js';
import { expectOnly, hex, mutate, randomBytes, runFuzz, runFuzzAsync } from './helpers/fuzz.js';
import { unsignedCert } from './helpers/pki.js';
import { waitFor } from './helpers/wait.js';

const isDnsError = (e: unknown): boolean => e instanceof DnsError;

const HOSTS = [
  ['lh', '10.99.0.1/24'],
  ['node1', '10.99.0.2/24'],
  ['Node1', '10.99.0.3/24'],
].map(([name, cidr]) => unsignedCert(name, cidr, { groups: ['g'], notAfter: 2 ** 40 }));
const DIR: DnsDirectory = {
  vpnNet: () => parseCidr('10.99.0.0/24'),
  vpnNetworks: () => [parseIpPrefix('10.99.0.0/24'), parseIpPrefix('fd00::/64')],
  // node1 is dual-stack, so AAAA and TXT-by-IPv6 questions reach answers too (docs/ipv6.md).
  hosts: () =>
    HOSTS.map((c, i) => ({
      vpnIp: c.details.ips[0].ip,
      vpnAddrs: i === 1 ? [c.details.ips[0].ip, 'fd00::2'] : undefined,
      certName: c.details.name,
      cert: c,
    })),
};

/** Queries and replies as they are sent: the seeds the mutators start from. */
const SAMPLES: Uint8Array[] = [
  encodeQuery(0x1111, 'node1', DnsType.A),
  encodeQuery(0x2222, '10.99.0.2', DnsType.TXT),
  encodeQuery(0x3333, 'a.b.c.example.', DnsType.A),
  encodeQuery(0x6666, 'node1', DnsType.AAAA),
  encodeQuery(0x7777, 'fd00::2', DnsType.TXT),
  // A name by pointer into an earlier one, and a query with an extra record, as other resolvers send.
  Uint8Array.from(
    Buffer.from(
      '4444 0100 0001 0000 0000 0001 05 6e6f646531 00 0001 0001 c00c 0001 0001 00000e10 0004 0a630002'.replace(
        / /g,
        '',
      ),
      'hex',
    ),
  ),
  (() => {
    const question = parseQuery(encodeQuery(0x5555, 'node1', DnsType.A)).question;
    return encodeReplyBytes({
      id: 0x5555,
      opcode: 0,
      rd: true,
      cd: false,
      rcode: 0,
      question,
      answers: [{ type: DnsType.A, ttl: 60, address: 0x0a630002 }],
    });
  })(),
  (() => {
    const question = parseQuery(encodeQuery(0x8888, 'node1', DnsType.AAAA)).question;
    return encodeReplyBytes({
      id: 0x8888,
      opcode: 0,
      rd: true,
      cd: false,
      rcode: 0,
      question,
      answers: [{ type: DnsType.AAAA, ttl: 60, address: 'fd00::2' }],
    });
  })(),
];

function encodeReplyBytes(reply: DnsReply): Uint8Array {
  const out = new Uint8Array(512);
  return out.subarray(0, encodeReply(reply, out));
}

/** The longest name spelled out in a reply: a query may name it by pointers, a reply writes it in full. */
const MAX_NAME_BYTES = 255;

test('fuzz DNS wire: parseQuery and parseResponse fail only with DnsError', () => {
  runFuzz('dns-parse', { iterations: 30_000, ms: 800, seed: 0xd45 }, (r) => {
    const b = r.chance(0.2) ? randomBytes(r, 80) : mutate(r, r.pick(SAMPLES), SAMPLES, 4, 600);
    const q = expectOnly(() => parseQuery(b), isDnsError, b);
    if (q.ok) assert.ok(q.value.question.name.length <= 4 * MAX_NAME_BYTES);
    expectOnly(() => parseResponse(b), isDnsError, b);
  });
});

test('fuzz DNS responder: never throws, and from outside the overlay replies no more than the query plus one name', (t) => {
  let answered = 0;
  let worst = 0;
  runFuzz('dns-respond', { iterations: 30_000, minIterations: 3000, ms: 1000, seed: 0xd46 }, (r) => {
    const b = r.chance(0.2) ? randomBytes(r, 80) : mutate(r, r.pick(SAMPLES), SAMPLES, 4, 600);
    const from = r.pick([
      '10.1.1.1',
      '127.0.0.1',
      '10.99.0.77',
      '::ffff:10.99.0.9',
      '2001:db8::1',
      'fd00::77',
      'fe80::1%eth0',
    ]);
    let out: { reply: Uint8Array | null; outcome: DnsOutcome };
    try {
      out = respond(b, from, DIR);
    } catch (e) {
      throw new Error(`respond threw ${String(e)} on ${hex(b)} from ${from}`, { cause: e });
    }
    if (out.reply === null) {
      assert.equal(out.outcome, 'dropped');
      return;
    }
    // What we answer parses as a DNS response with the query's id.
    const parsed = parseResponse(out.reply);
    assert.equal(parsed.id, (b[0] << 8) | b[1]);
    if (out.outcome === 'answered') answered++;
    else {
      // An error or empty reply echoes at most the question: no amplification beyond re-spelling a compressed name.
      assert.ok(
        out.reply.length <= b.length + MAX_NAME_BYTES,
        `${out.outcome} reply of ${out.reply.length} bytes to ${hex(b)}`,
      );
      worst = Math.max(worst, out.reply.length / b.length);
    }
    if (from === '10.1.1.1' || from === '2001:db8::1' || from === 'fe80::1%eth0')
      assert.ok(
        parsed.answers.every((a) => a.type !== DnsType.TXT),
        'no certificate details outside',
      );
  });
  assert.ok(answered > 100, `only ${answered} mutated queries were answered: the mutations do not reach the answers`);
  t.diagnostic(`largest unanswered reply: ${worst.toFixed(2)} times its query`);
  assert.ok(worst < 20, `an unanswered query got a reply ${worst.toFixed(1)} times its size`);
});

test('fuzz DNS listener: random and mutated datagrams on 127.0.0.1, then a real query is still answered', async (t) => {
  const outcomes: DnsOutcome[] = [];
  const server = await DnsResponder.start({ host: '127.0.0.1', port: 0 }, DIR, (o) => outcomes.push(o));
  t.after(() => server.close());
  const { port } = server.address();
  const client = dgram.createSocket('udp4');
  t.after(() => client.close());
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const replies: Buffer[] = [];
  client.on('message', (m) => replies.push(m));
  const send = (b: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => client.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));

  let sent = 0;
  let sentBytes = 0;
  // Bursts of 50 with a wait for the server to see each, so the loopback socket buffer never drops any.
  await runFuzzAsync('dns-listener', { iterations: 40, minIterations: 11, ms: 1500, seed: 0xd47 }, async (r) => {
    for (let k = 0; k < 50; k++) {
      const b = r.chance(0.3) ? randomBytes(r, 100) : mutate(r, r.pick(SAMPLES), SAMPLES, 4, 600);
      if (b.length === 0) continue; // a zero-length datagram is legal but nothing to fuzz
      await send(b);
      sent++;
      sentBytes += b.length;
    }
    await waitFor(() => outcomes.length === sent, {
      what: () => `the server to see ${sent} datagrams (saw ${outcomes.length})`,
      timeoutMs: 2000,
    });
  });
  assert.ok(sent >= 500, `only ${sent} datagrams sent`);

  // The real query goes from a socket of its own: a reply to a fuzzed datagram that kept a sample's id can still be in
  // flight to the fuzzing socket, and once it was taken for this query's answer (CI, stop 26).
  const asker = dgram.createSocket('udp4');
  t.after(() => asker.close());
  await new Promise<void>((resolve) => asker.bind(0, '127.0.0.1', resolve));
  const answers: Buffer[] = [];
  asker.on('message', (m) => answers.push(m));
  await new Promise<void>((resolve, reject) =>
    asker.send(encodeQuery(0x7777, 'NODE1', DnsType.A), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
  await waitFor(() => answers.length > 0, { what: 'the answer to a real query' });
  const answer = parseResponse(answers[0]);
  assert.equal(answer.id, 0x7777);
  assert.equal(answer.answers.length, 2, 'both hosts named node1, case-insensitively');
  const notAnswered = outcomes.filter((o) => o !== 'answered').length;
  assert.ok(outcomes.length === sent + 1 && notAnswered > 0);
  assert.ok(replies.length <= sent, 'at most one reply per datagram');
  assert.equal(answers.length, 1);
  t.diagnostic(
    `${sent} datagrams (${sentBytes} B) in, ${replies.length} replies (${replies.reduce((n, m) => n + m.length, 0)} B) out`,
  );
});
