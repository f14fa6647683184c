// Fuzzing a real daemon's TCP listener (docs/tcp-fallback.md): the shipped executable (dist/bin/mesh.cjs; run `make
// build` first) runs as a lighthouse and relay on 127.0.0.1, so it also accepts TCP on its UDP port's number. An
// in-process node handshakes with it over UDP and its datagrams become the seeds. Then hundreds of TCP connections
// carry random streams: frames of mutated datagrams, random bytes, bad lengths, cut anywhere. Afterwards the process
// is alive, logged no exception, sent no connection more bytes than it received on it, still answers the first
// node, and still answers a stage 1 that arrives framed over TCP.
//
// Only loopback traffic: nothing leaves the machine, and no namespace is needed.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { sendOnTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import { encodeFrame, FrameReader } from '../../pkg/tcp/frame.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import { mutateDatagram, randomBytes, runFuzzAsync, type Rand } from '../unit/helpers/fuzz.js';
import { TestMesh } from '../unit/helpers/mesh.js';
import { udpPacket } from '../unit/helpers/packets.js';
import { waitFor } from '../unit/helpers/wait.js';
import { alive, exceptionLines, fuzzPeer, startFuzzTarget } from './lab/fuzz-target.js';

const D = '10.99.0.1';
const A = '10.99.0.2';
const C = '10.99.0.4';

/** Sends `stream` on a new connection, then waits up to `waitMs` for what comes back; returns the bytes received. */
function exchange(port: number, stream: Buffer, waitMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const done = (): void => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.on('connect', () => socket.write(stream));
  });
}

function fuzzStream(r: Rand, seeds: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) {
    const kind = r.int(10);
    if (kind === 0) parts.push(randomBytes(r, 64));
    else if (kind === 1)
      parts.push(Uint8Array.from([0, 0])); // an empty frame: the connection closes
    else if (kind === 2)
      parts.push(Uint8Array.from([0xff, 0xff])); // too long: the connection closes
    else {
      const d = mutateDatagram(r, seeds[r.int(seeds.length)], seeds);
      if (d.length > 0 && d.length <= 9216) parts.push(encodeFrame(d));
    }
  }
  return Buffer.concat(parts);
}

test('a running daemon fed hundreds of random TCP streams stays up, never amplifies, and still serves UDP and TCP', async (t) => {
  const mesh = new TestMesh(t);
  const { daemon, port, logs, tail } = await startFuzzTarget(t, mesh, D, 'Accepting TCP');

  const captured: Uint8Array[] = [];
  const a = await fuzzPeer(mesh, { vpnIp: A, name: 'a', targetVpnIp: D, targetAt: `127.0.0.1:${port}`, captured });
  a.tun.inject(udpPacket({ src: A, dst: D, payload: 'hello daemon' }));
  await waitFor(() => a.tunnelTo(D), { timeoutMs: 5000, what: () => `a's tunnel to the daemon\n${tail()}` });
  sendOnTunnel(a.node, a.tunnelTo(D)!, MessageType.Test, 0, new Uint8Array([1, 2, 3]));
  // A handshake again, so that a stage 1 is among the seeds (the first one left before the capture began).
  const first = a.tunnelTo(D)!;
  a.node.rehandshake(first);
  await waitFor(() => a.tunnelTo(D) !== first, { timeoutMs: 5000, what: () => `a's second handshake\n${tail()}` });
  const stage1 = captured.find((d) => d[0] === 0x10 && d.length > 100) as Uint8Array; // version 1, type 0: a handshake
  assert.ok(stage1, 'a stage 1 captured');

  let bytesOut = 0;
  let bytesIn = 0;
  let worst = 0;
  const stats = await runFuzzAsync(
    'daemon-tcp',
    { iterations: 300, minIterations: 20, ms: 5000, seed: 0x7cd },
    async (r) => {
      const streams = Array.from({ length: 8 }, () => fuzzStream(r, captured));
      const back = await Promise.all(streams.map((s) => exchange(port, s, 30)));
      streams.forEach((s, i) => {
        bytesOut += s.length;
        bytesIn += back[i].length;
        worst = Math.max(worst, back[i].length - s.length);
      });
    },
  );
  t.diagnostic(
    `${stats.iterations * 8} connections, ${bytesOut} B sent, ${bytesIn} B back in ${stats.ms.toFixed(0)} ms`,
  );
  assert.ok(stats.iterations >= 20, `only ${stats.iterations} rounds`);
  assert.ok(alive(daemon), `the daemon died:\n${tail()}`);
  assert.deepEqual(exceptionLines(logs), [], 'no exception on outside input');
  assert.ok(worst <= 0, `a connection got ${worst} bytes more than it sent`);

  // UDP: the old tunnel still answers. TCP: a framed stage 1 still gets its stage 2 (a frame) back.
  const old = a.tunnelTo(D)!;
  const answeredBefore = old.packetsIn;
  sendOnTunnel(a.node, old, MessageType.Test, 0, new Uint8Array([9]));
  await waitFor(() => old.packetsIn > answeredBefore, {
    timeoutMs: 3000,
    what: () => `a test reply on the old tunnel\n${tail()}`,
  });
  // A fresh stage 1 (a seen one draws no answer from another address): from a node whose UDP goes nowhere.
  const c = await fuzzPeer(mesh, { vpnIp: C, name: 'c', targetVpnIp: D, targetAt: '127.0.0.1:9' });
  let fresh: Uint8Array | null = null;
  const cSend = c.node.udp.send.bind(c.node.udp);
  c.node.udp.send = (packet: Uint8Array, to: UdpAddr) => {
    if (packet[0] === 0x10) fresh ??= Uint8Array.from(packet);
    cSend(packet, to);
  };
  await waitFor(() => fresh, { timeoutMs: 3000, what: "c's stage 1" });
  const reply = await exchange(port, encodeFrame(fresh as unknown as Uint8Array), 2000);
  const frames: Buffer[] = [];
  new FrameReader().push(reply, (f) => frames.push(Buffer.from(f)));
  assert.ok(
    frames.length >= 1 && frames[0][0] === 0x10,
    `a handshake frame back for a stage 1 over TCP (got ${reply.length} B: ${frames.map((f) => f.length).join(', ')})`,
  );
});
