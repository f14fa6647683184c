import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { NebulaCertificate } from '../../pkg/cert/index.js';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import { respond, type DnsDirectory } from '../../pkg/lighthouse/dns-server.js';
import {
  DnsRcode,
  DnsType,
  encodeQuery,
  encodeReply,
  parseQuery,
  parseResponse,
  replySize,
} from '../../pkg/lighthouse/dns-wire.js';
import { unsignedCert } from './helpers/pki.js';

// AAAA records (RFC 3596) from the lighthouse's DNS responder, as Nebula 1.10's dns_server.go: a host's name answers
// A with its first IPv4 overlay address and AAAA with its first IPv6 one; TXT takes any of its addresses. A name
// without an address of the asked family gets the empty NOERROR reply of any unanswered question (docs/ipv6.md).

const hex = (b: Uint8Array | null): string => Buffer.from(b ?? []).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'));

const DUAL = unsignedCert('dual', '10.99.0.2/24');
const V4 = unsignedCert('four', '10.99.0.3/24');
const V6 = unsignedCert('six', '10.99.0.4/24');

function directory(): DnsDirectory {
  const hosts: Array<{ vpnIp: VpnIp; vpnAddrs: VpnIp[]; certName: string; cert: NebulaCertificate }> = [
    { vpnIp: 'fd00::2', vpnAddrs: ['fd00::2', 0x0a630002, 'fd00::22'], certName: 'dual', cert: DUAL },
    { vpnIp: 0x0a630003, vpnAddrs: [0x0a630003], certName: 'four', cert: V4 },
    { vpnIp: 'fd00::4', vpnAddrs: ['fd00::4'], certName: 'six', cert: V6 },
  ];
  return {
    vpnNet: () => parseCidr('10.99.0.0/24'),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24'), parseIpPrefix('fd00::/64')],
    hosts: () => hosts,
  };
}

function ask(name: string, type: number, from = '10.1.1.1') {
  const out = respond(encodeQuery(0xabcd, name, type), from, directory());
  return parseResponse(out.reply!);
}

// An AAAA reply for "dual" -> fd00::2, written by hand from RFC 1035 4.1 and RFC 3596: header (QR, RD, one question,
// one answer), the question, then the answer with the name spelled out, type 28, class 1, TTL 3600, RDLENGTH 16.
const AAAA_REPLY =
  'abcd 8100 0001 0001 0000 0000 04 6475616c 00 001c 0001 04 6475616c 00 001c 0001 00000e10 0010 fd000000000000000000000000000002';

test('the AAAA codec: golden bytes out, and the parser reads the address back as RFC 5952 text', () => {
  const question = parseQuery(encodeQuery(0xabcd, 'dual', DnsType.AAAA)).question;
  const reply = {
    id: 0xabcd,
    opcode: 0,
    rd: true,
    cd: false,
    rcode: 0,
    question,
    answers: [{ type: DnsType.AAAA, ttl: 3600, address: 'fd00::2' }],
  } as const;
  const out = new Uint8Array(replySize({ ...reply, answers: [...reply.answers] }));
  encodeReply({ ...reply, answers: [...reply.answers] }, out);
  assert.equal(hex(out), AAAA_REPLY.replace(/ /g, ''));
  assert.deepEqual(parseResponse(bytes(AAAA_REPLY)).answers, [
    { name: 'dual', type: DnsType.AAAA, ttl: 3600, address: 'fd00::2' },
  ]);
});

test('a dual-stack host answers AAAA with its first IPv6 address and A with its IPv4 one', () => {
  assert.equal(
    hex(respond(encodeQuery(0xabcd, 'dual', DnsType.AAAA), '10.1.1.1', directory()).reply),
    AAAA_REPLY.replace(/ /g, ''),
  );
  assert.deepEqual(
    ask('DUAL', DnsType.AAAA).answers.map((a) => 'address' in a && a.address),
    ['fd00::2'],
  );
  assert.deepEqual(
    ask('dual', DnsType.A).answers.map((a) => 'address' in a && a.address),
    [0x0a630002],
  );
});

test('a name without an address of the asked family gets an empty NOERROR reply, as an unknown name does', () => {
  for (const [name, type] of [
    ['four', DnsType.AAAA],
    ['six', DnsType.A],
    ['nobody', DnsType.AAAA],
  ] as const) {
    const r = ask(name, type);
    assert.equal(r.rcode, DnsRcode.NoError, name);
    assert.deepEqual(r.answers, [], name);
  }
  assert.deepEqual(
    ask('six', DnsType.AAAA).answers.map((a) => 'address' in a && a.address),
    ['fd00::4'],
  );
});

test("TXT by any of a host's addresses, IPv6 too, and only to clients inside one of our networks (IPv6 ones included)", () => {
  for (const name of ['fd00::22', '10.99.0.2', 'fd00:0::2']) {
    const r = ask(name, DnsType.TXT, 'fd00::77');
    assert.equal(r.answers.length, 1, name);
    assert.ok('strings' in r.answers[0] && r.answers[0].strings[0] === 'Name: dual', name);
  }
  for (const from of ['2001:db8::1', 'fd01::1', '10.1.1.1'])
    assert.deepEqual(ask('fd00::2', DnsType.TXT, from).answers, [], from);
});
