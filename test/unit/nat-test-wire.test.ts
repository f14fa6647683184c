// The NAT test messages (punchy/nat-test-wire.ts) and a lighthouse's second port (lighthouse/probe-port.ts): codecs,
// what the second port sends and to whom, and its bounds; fuzzed parsers and listener.

import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { MAX_RECORDS, PROBES_PER_SOURCE, ProbePort, REQUESTS_PER_PEER } from '../../pkg/lighthouse/probe-port.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { ProtobufError } from '../../pkg/protobuf/protobuf.js';
import {
  decodeNatEcho,
  decodeNatProbe,
  decodeNatTestReply,
  decodeNatTestRequest,
  encodeNatEcho,
  encodeNatProbe,
  encodeNatTestReply,
  encodeNatTestRequest,
  NAT_ECHO_LEN,
  NAT_PROBE_LEN,
  natTestType,
  NatTestType,
} from '../../pkg/punchy/nat-test-wire.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { MemoryNetwork } from '../../pkg/udp/memory-udp.js';
import { Logger } from '../../pkg/log/logger.js';
import { NatDiscovery } from '../../pkg/punchy/nat-discovery.js';
import { expectOnly, hex, mutate, mutateProto, randomBytes, runFuzz, runFuzzAsync } from './helpers/fuzz.js';
import dgram from 'node:dgram';
import { DgramConn } from '../../pkg/udp/udp-conn.js';
import { waitFor } from './helpers/wait.js';

const token = (n: number): Uint8Array => new Uint8Array(16).fill(n);

describe('NAT test codecs', () => {
  it('round-trips probes and echoes, and refuses anything else', () => {
    const probe = encodeNatProbe(token(7));
    assert.equal(probe.length, NAT_PROBE_LEN);
    assert.deepEqual(decodeNatProbe(probe), token(7));
    assert.equal(decodeNatEcho(probe), null);
    const echo = encodeNatEcho(token(9));
    assert.equal(echo.length, NAT_ECHO_LEN);
    assert.deepEqual(decodeNatEcho(echo), token(9));
    assert.equal(decodeNatProbe(echo), null);
    const padded = Uint8Array.from(probe);
    padded[40] = 1;
    assert.equal(decodeNatProbe(padded), null, 'non-zero padding');
    assert.equal(decodeNatProbe(probe.subarray(0, 63)), null, 'short');
  });

  it('round-trips the in-tunnel request and reply', () => {
    const req = encodeNatTestRequest({ vpnIp: 0x0a630002, probeToken: token(1), echoToken: token(2) });
    assert.equal(natTestType(req), NatTestType.Request);
    assert.deepEqual(decodeNatTestRequest(req), { vpnIp: 0x0a630002, probeToken: token(1), echoToken: token(2) });
    const reply = encodeNatTestReply({
      vpnIp: 0x0a630002,
      probeToken: token(1),
      seenAt: udpAddr('198.51.100.7', 4242),
      probePort: 50000,
    });
    assert.equal(natTestType(reply), NatTestType.Reply);
    assert.deepEqual(decodeNatTestReply(reply), {
      vpnIp: 0x0a630002,
      probeToken: token(1),
      seenAt: udpAddr('198.51.100.7', 4242),
      probePort: 50000,
    });
    assert.throws(() => decodeNatTestRequest(reply), ProtobufError);
    assert.throws(
      () => decodeNatTestRequest(encodeNatTestRequest({ vpnIp: 1, probeToken: new Uint8Array(15).fill(1) })),
      ProtobufError,
    );
  });
});

function lighthouse(): {
  port: ProbePort;
  clock: ManualClock;
  counters: Counters;
  inTunnel: Uint8Array[];
  sent: Array<{ packet: Uint8Array; to: string }>;
} {
  const net = new MemoryNetwork();
  const conn = net.bind('203.0.113.1', 50000);
  const clock = new ManualClock(0);
  const counters = new Counters();
  const inTunnel: Uint8Array[] = [];
  const port = new ProbePort(conn, { clock, counters, sendInTunnel: (_h, p) => inTunnel.push(p) });
  const sent: Array<{ packet: Uint8Array; to: string }> = [];
  net.drop = (packet, _from, to) => {
    sent.push({ packet, to: `${to.address}:${to.port}` });
    return true;
  };
  return { port, clock, counters, inTunnel, sent };
}

const peer = (remote: string | null): HostInfo =>
  ({
    vpnIp: 0x0a630002,
    remote: remote ? udpAddr(remote.split(':')[0], Number(remote.split(':')[1])) : null,
  }) as unknown as HostInfo;

describe("a lighthouse's second port", () => {
  it('answers no probe, tells the requester where its token came from, and echoes only to where the tunnel sees it', () => {
    const lh = lighthouse();
    lh.port.onDatagram(encodeNatProbe(token(3)), udpAddr('198.51.100.7', 61000));
    assert.equal(lh.sent.length, 0, 'a probe draws nothing');
    const req = encodeNatTestRequest({ vpnIp: 0x0a630002, probeToken: token(3), echoToken: token(4) });
    lh.port.onRequest(peer('198.51.100.7:4242'), req);
    assert.deepEqual(
      lh.sent.map((s) => s.to),
      ['198.51.100.7:4242'],
    );
    assert.deepEqual(decodeNatEcho(lh.sent[0].packet), token(4));
    // An encrypted request carries at least 32 bytes of header and tag on top of its payload.
    assert.ok(lh.sent[0].packet.length <= req.length + 32, 'the echo is no bigger than the request');
    const reply = decodeNatTestReply(lh.inTunnel[0]);
    assert.deepEqual(reply.seenAt, udpAddr('198.51.100.7', 61000));
    assert.equal(reply.probePort, 50000);
  });

  it('sends no echo to a requester it reaches only through a relay or over TCP', () => {
    const lh = lighthouse();
    lh.port.onRequest(peer(null), encodeNatTestRequest({ vpnIp: 0x0a630002, echoToken: token(4) }));
    lh.port.onRequest(peer('198.51.100.7:65537'), encodeNatTestRequest({ vpnIp: 0x0a630002, echoToken: token(5) }));
    assert.equal(lh.sent.length, 0);
    assert.equal(lh.inTunnel.length, 2);
  });

  it('bounds probes per source, requests per peer, and the tokens it keeps', () => {
    const lh = lighthouse();
    for (let i = 0; i < PROBES_PER_SOURCE * 3; i++)
      lh.port.onDatagram(encodeNatProbe(token(i)), udpAddr('198.51.100.9', 1000 + i));
    assert.equal(lh.counters.get('probe-port', 'probe'), PROBES_PER_SOURCE);
    for (let i = 0; i < REQUESTS_PER_PEER * 3; i++)
      lh.port.onRequest(peer('198.51.100.7:4242'), encodeNatTestRequest({ vpnIp: 1, echoToken: token(1) }));
    assert.equal(lh.sent.length, REQUESTS_PER_PEER);
    // Many sources: the table stays at MAX_RECORDS, the oldest go first.
    for (let i = 0; i < MAX_RECORDS + 100; i++) {
      const t = new Uint8Array(16);
      new DataView(t.buffer).setUint32(0, i);
      lh.port.onDatagram(encodeNatProbe(t), udpAddr(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1));
    }
    assert.ok(recordsOf(lh.port) <= MAX_RECORDS);
  });
});

function recordsOf(p: ProbePort): number {
  return (p as unknown as { records: Map<string, unknown> }).records.size;
}

const isProtobufError = (e: unknown): boolean => e instanceof ProtobufError;

test('fuzz NAT test codecs: bare decoders never throw, in-tunnel decoders throw only ProtobufError and re-encode', () => {
  const bare = [encodeNatProbe(token(1)), encodeNatEcho(token(2))];
  const inTunnel = [
    encodeNatTestRequest({ vpnIp: 5, probeToken: token(1), echoToken: token(2) }),
    encodeNatTestReply({ vpnIp: 5, probeToken: token(1), seenAt: udpAddr('198.51.100.7', 4242), probePort: 50000 }),
  ];
  const stats = runFuzz('nat-test', { iterations: 20_000, minIterations: 101, ms: 800, seed: 0x4e41 }, (r) => {
    const b = r.chance(0.2) ? randomBytes(r, 80) : mutate(r, r.pick(bare), bare);
    decodeNatProbe(b);
    decodeNatEcho(b);
    const m = r.chance(0.5) ? mutateProto(r, r.pick(inTunnel), inTunnel) : mutate(r, r.pick(inTunnel), inTunnel);
    const req = expectOnly(() => decodeNatTestRequest(m), isProtobufError, m);
    if (req.ok) assert.deepEqual(decodeNatTestRequest(encodeNatTestRequest(req.value)), req.value, hex(m));
    const rep = expectOnly(() => decodeNatTestReply(m), isProtobufError, m);
    if (rep.ok) assert.deepEqual(decodeNatTestReply(encodeNatTestReply(rep.value)), rep.value, hex(m));
  });
  assert.ok(stats.iterations > 100);
});

test("fuzz a lighthouse's second port: hostile datagrams never make it send, and its tables stay bounded", () => {
  const lh = lighthouse();
  const seeds = [
    encodeNatProbe(token(1)),
    encodeNatEcho(token(1)),
    encodeNatTestRequest({ vpnIp: 1, echoToken: token(1) }),
  ];
  const stats = runFuzz('probe-port', { iterations: 20_000, minIterations: 101, ms: 800, seed: 0x5052 }, (r, i) => {
    const b = r.chance(0.3) ? randomBytes(r, 100) : mutate(r, r.pick(seeds), seeds);
    lh.port.onDatagram(b, udpAddr(`198.51.${r.int(256)}.${r.int(256)}`, 1 + r.int(65535)));
    if (i % 50 === 0) lh.clock.advance(r.int(2000));
  });
  assert.equal(lh.sent.length, 0, 'bare datagrams draw nothing');
  assert.equal(lh.inTunnel.length, 0);
  assert.ok(recordsOf(lh.port) <= MAX_RECORDS);
  assert.ok(stats.iterations > 100);
});

test("fuzz the listen socket's NatEcho check: it never throws, and takes nothing while no echo is expected", () => {
  const counters = new Counters();
  const d = new NatDiscovery({
    clock: new ManualClock(0),
    log: new Logger('error', 'text', () => undefined),
    counters,
    myIp: () => 1,
    sendWhoami: () => undefined,
    sendInTunnel: () => undefined,
    sendBare: () => undefined,
    randomToken: () => token(1),
  });
  const seeds = [encodeNatEcho(token(1)), encodeNatProbe(token(1))];
  let taken = 0;
  const stats = runFuzz('nat-echo', { iterations: 20_000, minIterations: 101, ms: 500, seed: 0x4543 }, (r) => {
    const b = r.chance(0.3) ? randomBytes(r, 40) : mutate(r, r.pick(seeds), seeds);
    if (d.onDatagram(Buffer.from(b), udpAddr('203.0.113.1', 1 + r.int(65535)))) taken++;
  });
  // Echo-shaped datagrams are consumed (so the tunnel pipeline does not count them twice) but change nothing.
  assert.equal(counters.get('drops', 'nat-echo-unexpected'), taken);
  assert.equal(d.last, null);
  assert.ok(stats.iterations > 100);
});

test("fuzz a lighthouse's second port on a real socket (127.0.0.1): nothing comes back, it keeps listening", async () => {
  const conn = await DgramConn.open({ host: '127.0.0.1', port: 0 });
  const counters = new Counters();
  const clock = new ManualClock(0);
  const port = new ProbePort(conn, { clock, counters, sendInTunnel: () => assert.fail('nothing goes in a tunnel') });
  const client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
  let replies = 0;
  client.on('message', () => replies++);
  const seeds = [encodeNatProbe(token(1)), encodeNatEcho(token(1))];
  const send = (b: Uint8Array): Promise<void> =>
    new Promise((resolve) => client.send(b, port.port, '127.0.0.1', () => resolve()));
  // Each datagram counts once: a probe, a rate drop or a malformed drop.
  const seen = (): number =>
    counters.get('probe-port', 'probe') +
    counters.get('drops', 'probe-port-rate') +
    counters.get('drops', 'probe-port-malformed');
  try {
    // One datagram at a time, each seen before the next: a send's callback comes on the same tick, so a loop of sends
    // alone never lets the port read, and past 256 queued datagrams (the default receive buffer) the kernel drops
    // the rest; and none may still be queued when the clock moves below, or it lands in the new rate window.
    const stats = await runFuzzAsync(
      'probe-port-socket',
      { iterations: 400, minIterations: 11, ms: 1000, seed: 0x5053 },
      async (r, i) => {
        await send(r.chance(0.3) ? randomBytes(r, 200) : mutate(r, r.pick(seeds), seeds));
        await new Promise((resolve) => setImmediate(resolve));
        await waitFor(() => seen() === i + 1, { what: () => `the port to see datagram ${i} (saw ${seen()})` });
      },
    );
    // A last valid probe still lands (in a new rate window): the listener survived whatever came before.
    clock.advance(2000);
    const before = counters.get('probe-port', 'probe');
    await send(encodeNatProbe(token(200)));
    await waitFor(() => seen() === stats.iterations + 1, { what: 'the port to see the last probe' });
    assert.equal(counters.get('probe-port', 'probe'), before + 1, 'still listening');
    assert.equal(replies, 0, 'the second port answered a bare datagram');
    assert.ok(stats.iterations > 10);
  } finally {
    client.close();
    await port.close();
  }
});
