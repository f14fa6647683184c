// The client side of the TCP fallback (pkg/tcp/fallback.ts, docs/tcp-fallback.md) on a manual clock, an in-memory
// UDP socket and a loopback TCP server standing in for the lighthouse's listener.

import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { udpWhileOnTcp } from '../../pkg/daemon/tcp-transport.js';
import type { HostMap } from '../../pkg/hostmap/hostmap.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { connectTcp, SILENT_ROUNDS, TcpFallback, UDP_ANSWER_WAIT_MS, UDP_RETRY_MS } from '../../pkg/tcp/fallback.js';
import { encodeFrame, FrameReader } from '../../pkg/tcp/frame.js';
import { TcpUnderlay } from '../../pkg/tcp/underlay.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import { MemoryNetwork } from '../../pkg/udp/memory-udp.js';
import { waitFor } from './helpers/wait.js';

const LH = parseIpv4('10.99.0.1');
const LH_ADDR: UdpAddr = { address: '192.0.2.1', port: 4242 };

async function setup(heard: (since: number, lastFrameAt?: (vpnIp: number) => number) => boolean, connectFails = false) {
  const clock = new ManualClock();
  const raw = new MemoryNetwork().bind('10.0.0.2', 4242);
  const underlay = new TcpUnderlay(raw);
  const received: Array<{ hex: string; from: UdpAddr; overTcp: boolean | undefined }> = [];
  underlay.onPacket((p, from, overTcp) => received.push({ hex: p.toString('hex'), from, overTcp }));
  const lhSide: Socket[] = [];
  const lhFrames: string[] = [];
  const server: Server = createServer((s) => {
    lhSide.push(s);
    const reader = new FrameReader();
    s.on('data', (c: Buffer) => reader.push(c, (p) => lhFrames.push(p.toString('hex'))));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const calls = { connects: 0, probes: 0, linked: 0, relaysChanged: 0, linkTests: 0 };
  const counters = new Counters();
  const fallback = new TcpFallback({
    clock,
    counters,
    log: new Logger('error', 'text', () => {}),
    underlay,
    servers: () => [{ vpnIp: LH, addrs: [LH_ADDR] }],
    lighthouseHeardSince: heard,
    testLighthouses: () => undefined,
    probeUdp: () => (calls.probes++, true),
    testOverLink: () => void calls.linkTests++,
    linked: () => void calls.linked++,
    relaysChanged: () => void calls.relaysChanged++,
    connect: (_to, timeoutMs) => {
      calls.connects++;
      return connectFails
        ? Promise.reject(new Error('refused'))
        : connectTcp({ address: '127.0.0.1', port }, timeoutMs);
    },
  });
  const close = async (): Promise<void> => {
    fallback.stop();
    for (const s of lhSide) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { clock, raw, underlay, received, lhSide, lhFrames, fallback, calls, counters, close };
}

test('UDP unanswered for 2 s: the node connects over TCP, its lighthouse datagrams go there, and frames come back as datagrams from the lighthouse address', async () => {
  const s = await setup(() => false);
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS - 1);
    assert.equal(s.calls.connects, 0, 'not before the wait is over');
    s.clock.advance(1);
    await waitFor(() => s.calls.linked === 1, { what: 'the link' });
    assert.equal(s.fallback.transport, 'tcp');
    assert.deepEqual(s.fallback.tcpAttached(), [LH]);
    assert.equal(s.calls.relaysChanged, 1, 'the lighthouse is told our relays now include it');

    s.underlay.send(Buffer.from('c0ffee', 'hex'), LH_ADDR);
    await waitFor(() => s.lhFrames.length === 1, { what: 'the frame at the lighthouse' });
    assert.deepEqual(s.lhFrames, ['c0ffee']);
    assert.equal(s.raw.sent.length, 0, 'nothing for the lighthouse over UDP');
    s.underlay.send(Buffer.from('aa', 'hex'), { address: '192.0.2.9', port: 4242 });
    assert.equal(s.raw.sent.length, 1, 'others still over UDP');

    s.lhSide[0].write(encodeFrame(Buffer.from('beef', 'hex')));
    await waitFor(() => s.received.length === 1, { what: 'the frame delivered' });
    assert.deepEqual(s.received[0], { hex: 'beef', from: LH_ADDR, overTcp: true });

    s.clock.advance(UDP_RETRY_MS);
    assert.equal(s.calls.probes, 1, 'UDP is tested again every UDP_RETRY_MS');
  } finally {
    await s.close();
  }
});

test('an authenticated UDP packet from the TCP-attached lighthouse ends the fallback; an unauthenticated one does not', async () => {
  let answersOverUdp = false;
  const s = await setup(() => answersOverUdp);
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS);
    await waitFor(() => s.calls.linked === 1, { what: 'the link' });
    const lighthouse = { packetsIn: 5 };
    const hostmap = { byVpnIp: new Map([[LH, lighthouse]]) } as unknown as HostMap;
    assert.ok(s.fallback.routedFrom(LH_ADDR));
    udpWhileOnTcp(s.fallback, hostmap, () => undefined); // dropped: the tunnel did not count it
    assert.equal(s.fallback.transport, 'tcp');
    udpWhileOnTcp(s.fallback, hostmap, () => void lighthouse.packetsIn++);
    answersOverUdp = true;
    assert.equal(s.fallback.transport, 'udp');
    assert.ok(!s.underlay.routed(LH_ADDR));
    await waitFor(() => s.lhSide[0].destroyed || s.lhSide[0].readableEnded, { what: 'the link closed' });
    s.underlay.send(Buffer.from('01', 'hex'), LH_ADDR);
    assert.equal(s.raw.sent.length, 1, 'the lighthouse over UDP again');
    s.clock.advance(UDP_RETRY_MS * 3);
    assert.equal(s.calls.probes, 0, 'no more tests once back');
  } finally {
    await s.close();
  }
});

test('a lighthouse that answers over UDP within 2 s keeps the node on UDP', async () => {
  const s = await setup(() => true);
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS * 5);
    assert.equal(s.fallback.transport, 'udp');
    assert.equal(s.calls.connects, 0);
  } finally {
    await s.close();
  }
});

test('falling back with every connect failing is not being on TCP, and ends when a lighthouse answers over UDP (it was only down)', async () => {
  let heard = false;
  const s = await setup(() => heard, true);
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS);
    await waitFor(() => s.counters.get('tcp', 'connect-failed') === 1, { what: 'the failed connect' });
    assert.equal(s.fallback.transport, 'udp', 'no server is reached over TCP');
    heard = true; // the lighthouse came up; its handshake went over UDP
    s.clock.advance(UDP_RETRY_MS);
    assert.equal(s.counters.get('tcp', 'back-to-udp'), 1);
    s.clock.advance(UDP_RETRY_MS * 3);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.calls.connects, 1, 'no more connects once UDP works');
  } finally {
    await s.close();
  }
});

test('a link that brings nothing back while it is tested is closed and connected again; one that answers stays', async () => {
  const s = await setup(() => false);
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS);
    await waitFor(() => s.calls.linked === 1, { what: 'the link' });
    for (let round = 0; round < SILENT_ROUNDS + 2; round++) {
      s.lhSide[0].write(encodeFrame(Buffer.from('aa', 'hex'))); // the lighthouse answers each round's test
      await waitFor(() => s.received.length === round + 1, { what: 'the answer' });
      s.clock.advance(UDP_RETRY_MS);
    }
    assert.ok(s.calls.linkTests >= SILENT_ROUNDS, 'each round tests the link');
    assert.equal(s.calls.connects, 1, 'an answering link stays');
    // Now the connection goes silent (a NAT on the way dropped it without a reset).
    for (let round = 0; round < SILENT_ROUNDS; round++) s.clock.advance(UDP_RETRY_MS);
    await waitFor(() => s.calls.connects === 2, { what: 'a new connection' });
    assert.equal(s.counters.get('tcp', 'link-silent'), 1);
    await waitFor(() => s.lhSide.length === 2 && (s.lhSide[0].destroyed || s.lhSide[0].readableEnded), {
      what: 'the old connection closed',
    });
  } finally {
    await s.close();
  }
});

test('what the lighthouse sent over TCP never passes for a UDP answer, even while its link is down', async () => {
  let lhRecvAt = -Infinity; // the lighthouse tunnel's lastRecvAt, as the node keeps it
  const s = await setup((since, lastFrameAt) => lhRecvAt >= since && lhRecvAt > (lastFrameAt?.(LH) ?? -Infinity));
  // As in the node: the tunnel stamps the packet while it is delivered, a moment after it arrived.
  s.underlay.onPacket(() => {
    s.clock.advance(0.5);
    lhRecvAt = s.clock.now();
  });
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS);
    await waitFor(() => s.calls.linked === 1, { what: 'the link' });
    s.clock.advance(1);
    s.lhSide[0].write(encodeFrame(Buffer.from('aa', 'hex')));
    await waitFor(() => s.received.length === 1, { what: 'the frame' });
    s.clock.advance(UDP_RETRY_MS);
    assert.equal(s.counters.get('tcp', 'back-to-udp'), 0, 'a frame is no UDP answer');
    s.lhSide[0].destroy(); // the lighthouse restarts: the link is down at the next round
    await waitFor(() => s.fallback.tcpAttached().length === 0, { what: 'the link lost' });
    s.clock.advance(UDP_RETRY_MS);
    assert.equal(s.counters.get('tcp', 'back-to-udp'), 0, 'still on TCP');
    await waitFor(() => s.calls.connects === 2, { what: 'connected again' });
  } finally {
    await s.close();
  }
});

test('back on UDP, lighthouses that do not answer over UDP after all make the node fall back again', async () => {
  const s = await setup(() => false);
  try {
    s.fallback.start();
    s.clock.advance(UDP_ANSWER_WAIT_MS);
    await waitFor(() => s.calls.linked === 1, { what: 'the link' });
    s.fallback.udpWorks(); // say, a stray packet that authenticated
    assert.equal(s.fallback.transport, 'udp');
    s.clock.advance(UDP_ANSWER_WAIT_MS);
    await waitFor(() => s.calls.linked === 2, { what: 'linked again' });
    assert.equal(s.fallback.transport, 'tcp');
  } finally {
    await s.close();
  }
});
