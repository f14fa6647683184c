// Fuzzing the TCP fallback's input (docs/tcp-fallback.md): the frame reader against a one-shot reference parser
// over random streams cut into random chunks, and the real listener on 127.0.0.1 fed random and mutated streams
// (it never throws, delivers only frames of 1..MAX_FRAME bytes, closes what is malformed, and still serves a good
// connection afterwards).

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { systemClock } from '../../pkg/clock/clock.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { encodeFrame, FrameReader, MAX_FRAME } from '../../pkg/tcp/frame.js';
import { TcpServer } from '../../pkg/tcp/server.js';
import { mutate, randomBytes, runFuzz, runFuzzAsync, type Rand } from './helpers/fuzz.js';
import { waitFor } from './helpers/wait.js';

/** The whole stream at once: frames until the first bad length (then the error) or the end. */
function reference(stream: Buffer): { frames: string[]; error: string | null } {
  const frames: string[] = [];
  let at = 0;
  while (stream.length - at >= 2) {
    const len = stream.readUInt16BE(at);
    if (len === 0) return { frames, error: 'frame-empty' };
    if (len > MAX_FRAME) return { frames, error: 'frame-too-long' };
    if (stream.length - at < 2 + len) break;
    frames.push(stream.subarray(at + 2, at + 2 + len).toString('hex'));
    at += 2 + len;
  }
  return { frames, error: null };
}

function randomStream(r: Rand): Buffer {
  const parts: Uint8Array[] = [];
  const n = r.int(6);
  for (let i = 0; i < n; i++) {
    const kind = r.int(4);
    if (kind === 0) parts.push(randomBytes(r, 64));
    else if (kind === 1) parts.push(encodeFrame(Uint8Array.from([r.byte(), ...randomBytes(r, 200)])));
    else if (kind === 2) parts.push(encodeFrame(new Uint8Array(r.chance(0.5) ? MAX_FRAME : 1 + r.int(MAX_FRAME))));
    else parts.push(mutate(r, encodeFrame(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))));
  }
  return Buffer.concat(parts);
}

function cuts(r: Rand, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const n = 1 + r.int(r.chance(0.5) ? 8 : 4096);
    chunks.push(stream.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

test('fuzz: the frame reader agrees with a one-shot parse however the stream is cut, and holds at most one frame', () => {
  const stats = runFuzz('tcp-frame-reader', { iterations: 20_000, minIterations: 101, ms: 1500, seed: 0x7c9f }, (r) => {
    const stream = randomStream(r);
    const reader = new FrameReader();
    const frames: string[] = [];
    let error: string | null = null;
    for (const chunk of cuts(r, stream)) {
      const e = reader.push(chunk, (p) => {
        assert.ok(p.length >= 1 && p.length <= MAX_FRAME);
        frames.push(p.toString('hex'));
      });
      error ??= e;
      assert.ok(reader.buffered <= MAX_FRAME + 1);
    }
    assert.deepEqual({ frames, error }, reference(stream));
  });
  assert.ok(stats.iterations > 100);
});

test('fuzz: the TCP listener takes random streams without throwing, closes malformed ones and still serves a good one', async () => {
  const counters = new Counters();
  const delivered: number[] = [];
  const server = await TcpServer.listen('127.0.0.1', 0, {
    clock: systemClock,
    counters,
    deliver: (p) => {
      assert.ok(p.length >= 1 && p.length <= MAX_FRAME);
      delivered.push(p.length);
    },
    remotesInUse: () => new Set(),
  });
  try {
    await runFuzzAsync('tcp-listener', { iterations: 200, ms: 1500, seed: 0x7ca0 }, async (r) => {
      const stream = randomStream(r);
      const socket = connect({ host: '127.0.0.1', port: server.port });
      await new Promise<void>((resolve) => {
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.on('connect', () => {
          for (const c of cuts(r, stream)) socket.write(c);
          socket.end();
        });
      });
    });
    await waitFor(() => server.connections === 0, { timeoutMs: 3000 });
    // A good connection after all that: its frame is delivered.
    delivered.length = 0;
    const good = connect({ host: '127.0.0.1', port: server.port });
    good.on('connect', () => good.write(encodeFrame(Buffer.from('hello'))));
    await waitFor(() => delivered.includes(5), { timeoutMs: 3000 });
    good.destroy();
  } finally {
    await server.close();
  }
});
