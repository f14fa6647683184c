// The TCP listener's bounds (pkg/tcp/server.ts, docs/tcp-fallback.md, docs/security-model.md): connections per
// source address, the handshake deadline, closing a connection no tunnel uses, and the per-connection write backlog.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { encodeFrame } from '../../pkg/tcp/frame.js';
import { MAX_BACKLOG, TcpLink } from '../../pkg/tcp/link.js';
import { AUTH_DEADLINE_MS, MAX_PER_IP, TcpServer, UNUSED_CLOSE_MS } from '../../pkg/tcp/server.js';
import { isTcpAddr } from '../../pkg/tcp/tcp-addr.js';
import { addrKey, type UdpAddr } from '../../pkg/udp/addr.js';
import { waitFor } from './helpers/wait.js';

async function open(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed: () => closed };
}

test(`one source address gets ${MAX_PER_IP} connections; the next is closed at once`, async () => {
  const counters = new Counters();
  const server = await TcpServer.listen('127.0.0.1', 0, {
    clock: new ManualClock(),
    counters,
    deliver: () => undefined,
    remotesInUse: () => new Set(),
  });
  const clients: Array<{ socket: Socket; closed: () => boolean }> = [];
  try {
    for (let i = 0; i < MAX_PER_IP; i++) clients.push(await open(server.port));
    await waitFor(() => server.connections === MAX_PER_IP, { what: 'all accepted' });
    const extra = await open(server.port);
    clients.push(extra);
    await waitFor(() => extra.closed(), { what: 'the extra connection closed' });
    assert.equal(server.connections, MAX_PER_IP);
    assert.equal(counters.get('drops', 'tcp-connections-per-ip'), 1);
    assert.ok(clients.slice(0, MAX_PER_IP).every((c) => !c.closed()));
  } finally {
    for (const c of clients) c.socket.destroy();
    await server.close();
  }
});

test('a connection that completes no handshake is closed at the deadline; one a tunnel uses stays until it is unused for a while', async () => {
  const clock = new ManualClock();
  const counters = new Counters();
  const inUse = new Set<string>();
  const from: UdpAddr[] = [];
  const server = await TcpServer.listen('127.0.0.1', 0, {
    clock,
    counters,
    deliver: (_p, f) => from.push(f),
    remotesInUse: () => inUse,
  });
  try {
    const idle = await open(server.port);
    const used = await open(server.port);
    used.socket.write(encodeFrame(Buffer.from('stage 1')));
    await waitFor(() => from.length === 1, { what: 'the frame' });
    assert.ok(isTcpAddr(from[0]) && from[0].address === '127.0.0.1', 'frames come from a virtual address');
    inUse.add(addrKey(from[0]));
    clock.advance(AUTH_DEADLINE_MS - 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!idle.closed(), 'not before the deadline');
    clock.advance(1000);
    await waitFor(() => idle.closed(), { what: 'the idle connection closed' });
    assert.equal(counters.get('drops', 'tcp-no-handshake'), 1);
    assert.ok(!used.closed());
    // Its tunnel moved away (back to UDP, or closed): the connection goes after UNUSED_CLOSE_MS.
    inUse.clear();
    clock.advance(UNUSED_CLOSE_MS - 1000);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!used.closed(), 'not before');
    clock.advance(1000);
    await waitFor(() => used.closed(), { what: 'the unused connection closed' });
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

/** A socket whose peer reads nothing: what is written stays in writableLength. */
class StuckSocket extends EventEmitter {
  writableLength = 0;
  written = 0;
  setNoDelay(): this {
    return this;
  }
  write(b: Buffer): boolean {
    this.writableLength += b.length;
    this.written++;
    return false;
  }
  destroy(): this {
    return this;
  }
}

test('a connection whose peer stops reading drops frames beyond MAX_BACKLOG instead of queuing them', () => {
  const counters = new Counters();
  const socket = new StuckSocket();
  const link = new TcpLink(socket as unknown as Socket, counters, { frame: () => undefined, closed: () => undefined });
  const packet = new Uint8Array(1400);
  let sent = 0;
  for (let i = 0; i < 1000; i++) if (link.send(packet)) sent++;
  assert.ok(socket.writableLength <= MAX_BACKLOG, `backlog ${socket.writableLength}`);
  assert.equal(sent, Math.floor(MAX_BACKLOG / 1402));
  assert.equal(counters.get('drops', 'tcp-backlog-full'), 1000 - sent);
});

test('when full, a new connection takes the place of the oldest one no tunnel uses; with every one in use it is refused', async () => {
  const clock = new ManualClock();
  const counters = new Counters();
  const inUse = new Set<string>();
  const from = new Map<string, UdpAddr>();
  const server = await TcpServer.listen('127.0.0.1', 0, {
    clock,
    counters,
    deliver: (p, f) => from.set(p.toString(), f),
    remotesInUse: () => inUse,
    limits: { maxConnections: 3 },
  });
  const clients: Array<{ socket: Socket; closed: () => boolean }> = [];
  const useTunnel = async (c: { socket: Socket }, name: string): Promise<void> => {
    c.socket.write(encodeFrame(Buffer.from(name)));
    await waitFor(() => from.has(name), { what: `${name}'s frame` });
    inUse.add(addrKey(from.get(name) as UdpAddr));
  };
  try {
    for (let i = 0; i < 3; i++) clients.push(await open(server.port));
    await waitFor(() => server.connections === 3, { what: 'three accepted' });
    await useTunnel(clients[0], 'first');
    clock.advance(1000); // the sweep marks it used
    clients.push(await open(server.port));
    await waitFor(() => clients[1].closed(), { what: 'the oldest unused connection evicted' });
    assert.ok(!clients[0].closed(), 'the one a tunnel uses stays');
    assert.equal(counters.get('drops', 'tcp-evicted-unused'), 1);
    await waitFor(() => server.connections === 3, { what: 'the new one accepted' });
    await useTunnel(clients[2], 'third');
    await useTunnel(clients[3], 'fourth');
    clock.advance(1000);
    const refused = await open(server.port);
    clients.push(refused);
    await waitFor(() => refused.closed(), { what: 'refused when all are in use' });
    assert.equal(counters.get('drops', 'tcp-connections-full'), 1);
    assert.ok([0, 2, 3].every((i) => !clients[i].closed()));
  } finally {
    for (const c of clients) c.socket.destroy();
    await server.close();
  }
});
