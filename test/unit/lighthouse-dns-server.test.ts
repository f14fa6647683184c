import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';

import type { NebulaCertificate } from '../../pkg/cert/index.js';
import type { MeshConfig } from '../../pkg/config/index.js';
import type { LocalIdentity } from '../../pkg/handshake/identity.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseCidr, parseIpv4, type Ipv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import {
  certTxt,
  DnsResponder,
  LighthouseDns,
  respond,
  type DnsDirectory,
  type DnsNode,
} from '../../pkg/lighthouse/dns-server.js';
import { DnsRcode, DnsType, encodeQuery, parseResponse, type DnsResponse } from '../../pkg/lighthouse/dns-wire.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { unsignedCert } from './helpers/pki.js';

// The lighthouse's DNS answers. The golden replies are what nebula 1.6.1 (serve_dns on a lighthouse, tun disabled,
// in a private network namespace) sent back to the same query bytes, with one node "Node1" (10.99.0.2/24, groups
// g1 and g2) in its hostmap; queries came from 10.99.0.77 (inside the overlay network) or 10.1.1.1 (outside).

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array | null): string => (b ? Buffer.from(b).toString('hex') : 'none');

const NODE1 = unsignedCert('Node1', '10.99.0.2/24', {
  groups: ['g1', 'g2'],
  notBefore: 1795458388,
  notAfter: 1826994387,
  publicKey: bytes('d641b60d3435cd3a6e2ebd9f7a26f71907242dc171c666616d728481b4ade365'),
  issuer: '4aa88e850ab23c1696b20797c3a3e3c13e727a7828ae5996479795e7067f75da',
});
const LH = unsignedCert('lh', '10.99.0.1/24');

function directory(...peers: NebulaCertificate[]): DnsDirectory {
  const all = [LH, ...peers].map((c) => ({ vpnIp: c.details.ips[0].ip, certName: c.details.name, cert: c }));
  return { vpnNet: () => parseCidr('10.99.0.0/24'), hosts: () => all };
}

const NEBULA = {
  aQuery: 'aaaa 0100 0001 0000 0000 0000 05 4e6f646531 00 0001 0001',
  aReply: 'aaaa81000001000100000000054e6f6465310000010001054e6f646531000001000100000e1000040a630002',
  txtQuery: 'aaae 0110 0001 0000 0000 0000 02 3130 02 3939 01 30 01 32 00 0010 0001',
  txtReply:
    'aaae8110000100010000000002313002393901300132000010000102313002393901300132000010000100000e1001270b4e616d653a204e6f646531134970733a' +
    '205b31302e39392e302e322f32345d0a5375626e657473205b5d0e47726f757073205b67312067325d274e6f744265666f726520323032362d31312d3233203138' +
    '3a32363a3238202b3030303020555443264e6f74414674657220323032372d31312d32332031383a32363a3237202b30303030205554434a5075626c69634b6579' +
    '20643634316236306433343335636433613665326562643966376132366637313930373234326463313731633636363631366437323834383162346164653336' +
    '350a497343412066616c7365474973737565722034616138386538353061623233633136393662323037393763336133653363313365373237613738323861653539393634373937393565373036376637356461',
  txtOutsideQuery: 'aac0 0100 0001 0000 0000 0000 02 3130 02 3939 01 30 01 32 00 0010 0001',
  txtOutsideReply: 'aac081000001000000000000023130023939013001320000100001',
  unknownQuery: 'aaad 0100 0001 0000 0000 0000 04 6e6f7065 00 0001 0001',
  unknownReply: 'aaad81000001000000000000046e6f70650000010001',
  notifyQuery: 'aab6 2100 0001 0000 0000 0000 05 4e6f646531 00 0001 0001',
  notifyReply: 'aab6a0000001000000000000054e6f6465310000010001',
  twoQuestions: 'aab1 0100 0002 0000 0000 0000 00 0001 0001 00 0001 0001',
  twoQuestionsReply: 'aab181010000000000000000',
  opcodeStatus: 'aab2 1100 0001 0000 0000 0000 00 0001 0001',
  opcodeStatusReply: 'aab291040000000000000000',
  truncated: 'aab4 0100 0001 0000 0000 0000 02 6e',
  truncatedReply: 'aab481010000000000000000',
  pointerLoop: 'aab8 0100 0001 0000 0000 0000 c0 0c 0001 0001',
  pointerLoopReply: 'aab881010000000000000000',
};

const reply = (query: string, from: string, dir = directory(NODE1)): string =>
  hex(respond(bytes(query), from, dir).reply);

test('an A query for a host name gets the same bytes back as from nebula 1.6.1', () => {
  assert.equal(reply(NEBULA.aQuery, '10.1.1.1'), NEBULA.aReply);
});

test('a TXT query for an overlay IP from inside the overlay gets the certificate as nebula 1.6.1 words it', () => {
  assert.equal(reply(NEBULA.txtQuery, '10.99.0.77'), NEBULA.txtReply);
});

test('a TXT query from outside the overlay gets an empty answer, as from nebula', () => {
  assert.equal(reply(NEBULA.txtOutsideQuery, '10.1.1.1'), NEBULA.txtOutsideReply);
  assert.equal(reply(NEBULA.txtOutsideQuery, '::1'), NEBULA.txtOutsideReply);
});

test('TXT queries from 127.0.0.1 are answered, also when it arrives IPv4-mapped', () => {
  for (const from of ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:10.99.0.9']) {
    const r = parseResponse(bytes(reply(NEBULA.txtOutsideQuery, from)));
    assert.equal(r.answers.length, 1, from);
  }
});

test('an unknown name gets NOERROR and no answer (never NXDOMAIN), as from nebula', () => {
  assert.equal(reply(NEBULA.unknownQuery, '10.99.0.77'), NEBULA.unknownReply);
});

test('a NOTIFY is answered without answers and a query with two questions or a bad opcode as nebula does', () => {
  assert.equal(reply(NEBULA.notifyQuery, '10.99.0.77'), NEBULA.notifyReply);
  assert.equal(reply(NEBULA.twoQuestions, '10.99.0.77'), NEBULA.twoQuestionsReply);
  assert.equal(reply(NEBULA.opcodeStatus, '10.99.0.77'), NEBULA.opcodeStatusReply);
  assert.equal(reply(NEBULA.truncated, '10.99.0.77'), NEBULA.truncatedReply);
  assert.equal(reply(NEBULA.pointerLoop, '10.99.0.77'), NEBULA.pointerLoopReply);
});

test('fewer than 12 bytes and responses are dropped without a reply', () => {
  assert.equal(reply('aab5 0100', '10.99.0.77'), 'none');
  assert.equal(reply('aab3 8100 0001 0000 0000 0000 00 0001 0001', '10.99.0.77'), 'none');
  assert.equal(respond(new Uint8Array(0), '10.99.0.77', directory()).outcome, 'dropped');
});

function ask(name: string, type: number, from = '10.99.0.77', dir = directory(NODE1)): DnsResponse {
  const r = respond(encodeQuery(1, name, type), from, dir);
  assert.ok(r.reply);
  return parseResponse(r.reply);
}

test('names match whatever their ASCII case, and the answer echoes the question as asked', () => {
  const r = ask('NODE1.', DnsType.A);
  assert.equal(r.question?.name, 'NODE1');
  assert.deepEqual(
    r.answers.map((a) => 'address' in a && a.address),
    [parseIpv4('10.99.0.2')],
  );
});

test('the lighthouse answers for its own name and its own certificate', () => {
  assert.deepEqual(
    ask('lh', DnsType.A).answers.map((a) => 'address' in a && a.address),
    [parseIpv4('10.99.0.1')],
  );
  const txt = ask('10.99.0.1', DnsType.TXT).answers[0];
  assert.ok(txt && 'strings' in txt && txt.strings[0] === 'Name: lh');
});

test('two hosts with one name both come back; other types and TXT names that are not IPs get no answer', () => {
  const twin = unsignedCert('node1', '10.99.0.5/24');
  const dir = directory(NODE1, twin);
  assert.equal(ask('node1', DnsType.A, '10.1.1.1', dir).answers.length, 2);
  for (const [name, type] of [
    ['Node1', 28],
    ['Node1', DnsType.TXT],
    ['10.99.0.200', DnsType.TXT],
    ['10.99.0.2', DnsType.A],
  ] as const) {
    const r = ask(name, type, '10.99.0.77', dir);
    assert.equal(r.rcode, DnsRcode.NoError);
    assert.equal(r.answers.length, 0, `${name} ${type}`);
  }
});

test('certTxt lists subnets and IPs the way Go prints them', () => {
  const c = unsignedCert('r', '10.99.0.9/24', {
    subnets: [parseCidr('192.168.0.0/16'), parseCidr('172.16.0.0/12')],
    isCA: true,
  });
  const txt = certTxt(c);
  assert.equal(txt[1], 'Ips: [10.99.0.9/24]');
  assert.equal(txt[2], 'Subnets [192.168.0.0/16 172.16.0.0/12]');
  assert.equal(txt[3], 'Groups []');
  assert.equal(txt[4], 'NotBefore 1970-01-01 00:00:00 +0000 UTC');
  assert.equal(txt[7], 'IsCA true');
});

test('random datagrams never make respond throw', () => {
  let s = 12345;
  const rand = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const seed = bytes(NEBULA.txtQuery);
  for (let i = 0; i < 20_000; i++) {
    const buf =
      i % 2
        ? Uint8Array.from({ length: Math.floor(rand() * 48) }, () => Math.floor(rand() * 256))
        : Uint8Array.from(seed);
    if (i % 2 === 0) for (let k = 0; k < 3; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
    assert.doesNotThrow(() => respond(buf, '10.99.0.77', directory(NODE1)));
  }
});

// ---- over a real socket on loopback ----

async function query(
  port: number,
  packet: Uint8Array,
  host = '127.0.0.1',
  timeoutMs = 1000,
): Promise<Uint8Array | null> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    return await new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), timeoutMs);
      s.once('message', (m) => {
        clearTimeout(t);
        resolve(new Uint8Array(m));
      });
      s.send(packet, port, host);
    });
  } finally {
    s.close();
  }
}

test('the responder answers over UDP, drops a response datagram, and keeps answering afterwards', async (t) => {
  const outcomes: string[] = [];
  const server = await DnsResponder.start({ host: '127.0.0.1', port: 0 }, directory(NODE1), (o) => outcomes.push(o));
  t.after(() => server.close());
  const { port } = server.address();
  assert.equal(hex(await query(port, bytes(NEBULA.txtQuery))), NEBULA.txtReply);
  assert.equal(await query(port, bytes('aab3 8100 0001 0000 0000 0000 00 0001 0001'), '127.0.0.1', 200), null);
  assert.equal(hex(await query(port, bytes(NEBULA.aQuery))), NEBULA.aReply);
  assert.deepEqual(outcomes, ['answered', 'dropped', 'answered']);
});

// ---- lifecycle on a node ----

function fakeNode(
  lighthouse: { amLighthouse: boolean; serveDns: boolean; dns: { host: string; port: number } },
  lines: string[],
): DnsNode & { config: MeshConfig } {
  const self: LocalIdentity = {
    cert: LH,
    handshakeCert: new Uint8Array(),
    credentials: {},
    initiatingVersion: 1,
    privateKey: new Uint8Array(),
    publicKey: new Uint8Array(),
    vpnIp: LH.details.ips[0].ip,
    vpnAddrs: [LH.details.ips[0].ip],
    vpnNetworks: [parseIpPrefix('10.99.0.0/24')],
    unsafeNetworks: [],
    vpnNet: parseCidr('10.99.0.0/24'),
  };
  const byPrimary = new Map<Ipv4, HostInfo>([
    [parseIpv4('10.99.0.2'), { vpnIp: parseIpv4('10.99.0.2'), certName: NODE1.details.name, cert: NODE1 } as HostInfo],
  ]);
  const node = {
    config: { lighthouse } as unknown as MeshConfig,
    hostmap: { byPrimary, byVpnIp: byPrimary },
    log: new Logger('debug', 'text', (l) => lines.push(l), true),
    counters: new Counters(),
    identity: () => self,
    currentConfig: () => node.config,
  };
  return node;
}

const withDns = (node: { config: MeshConfig }, lighthouse: object): MeshConfig => ({
  ...node.config,
  lighthouse: { ...node.config.lighthouse, ...lighthouse },
});

test('serve_dns on a host that is not a lighthouse is refused with a warning', async () => {
  const lines: string[] = [];
  const dns = await LighthouseDns.start(
    fakeNode({ amLighthouse: false, serveDns: true, dns: { host: '127.0.0.1', port: 0 } }, lines),
  );
  assert.equal(dns.address(), null);
  assert.match(lines.join('\n'), /DNS server refusing to run because this host is not a lighthouse/);
});

test('a lighthouse serves DNS from its tunnels and itself, and a reload that moves dns.host restarts it there', async (t) => {
  const lines: string[] = [];
  const node = fakeNode({ amLighthouse: true, serveDns: true, dns: { host: '127.0.0.1', port: 0 } }, lines);
  const dns = await LighthouseDns.start(node);
  t.after(() => dns.close());
  const first = dns.address();
  assert.ok(first);
  const answers = parseResponse((await query(first.port, encodeQuery(3, 'lh', DnsType.A)))!).answers;
  assert.deepEqual(
    answers.map((a) => 'address' in a && a.address),
    [parseIpv4('10.99.0.1')],
  );
  assert.equal(node.counters.get('dns-queries', 'answered'), 1);

  assert.deepEqual(await dns.reload(node.config), [], 'same address: nothing to do');
  assert.equal(dns.address()?.port, first.port);

  node.config = withDns(node, { dns: { host: '127.0.0.2', port: 0 } });
  assert.deepEqual(await dns.reload(node.config), []);
  assert.equal(dns.address()?.address, '127.0.0.2');
  assert.equal(
    await query(first.port, encodeQuery(4, 'lh', DnsType.A), '127.0.0.1', 200),
    null,
    'the old socket is closed',
  );
  const moved = dns.address()!;
  assert.ok(await query(moved.port, encodeQuery(5, 'Node1', DnsType.A), '127.0.0.2'));

  node.config = withDns(node, { serveDns: false });
  assert.deepEqual(await dns.reload(node.config), ['lighthouse.serve_dns (needs a restart to apply)']);
  assert.match(lines.join('\n'), /Restarting DNS server/);
});

test('a DNS address that cannot be bound is logged and the node runs on', async (t) => {
  const taken = dgram.createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
  t.after(() => taken.close());
  const lines: string[] = [];
  const dns = await LighthouseDns.start(
    fakeNode({ amLighthouse: true, serveDns: true, dns: { host: '127.0.0.1', port: taken.address().port } }, lines),
  );
  assert.equal(dns.address(), null);
  assert.match(lines.join('\n'), /Failed to start DNS server/);
});
