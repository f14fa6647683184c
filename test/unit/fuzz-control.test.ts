// Fuzzing the control protocol and the control socket: request and reply lines fail only with ControlError, the
// line splitter gives the same lines however the stream is cut and stays linear in what it is fed, and a running
// control server fed random bytes and mangled requests never dies and still answers a real request afterwards.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ControlClient } from '../../pkg/control/client.js';
import {
  ControlError,
  decodeReply,
  decodeRequest,
  encodeRequest,
  LineSplitter,
  requestIdOf,
} from '../../pkg/control/protocol.js';
import { ControlServer } from '../../pkg/control/server.js';
import { expectOnly, mutateText, runFuzz, runFuzzAsync, type Rand } from './helpers/fuzz.js';
import { waitFor } from './helpers/wait.js';

const isControlError = (e: unknown): boolean => e instanceof ControlError;

const REQUESTS = [
  encodeRequest({ id: 1, command: 'status', args: {} }),
  encodeRequest({ id: 2, command: 'ping', args: { host: '10.99.0.2', count: 3 } }),
  encodeRequest({ id: 3, command: 'print-cert', args: { host: 'node1', json: true } }),
  '{"id":4,"ok":false,"error":{"code":"ENOHOST","message":"no tunnel"}}\n',
  '{"id":5,"ok":true,"result":{"tunnels":[]}}\n',
];

function someLine(r: Rand): string {
  if (r.chance(0.15)) return Buffer.from(r.bytes(r.int(80))).toString('latin1');
  if (r.chance(0.05)) return '['.repeat(r.int(100_000)) + ']'.repeat(r.int(3)); // deep nesting for JSON.parse
  return mutateText(r, r.pick(REQUESTS)).replace(/\n$/, '');
}

test('fuzz control protocol: request and reply lines fail only with ControlError; requestIdOf never throws', () => {
  runFuzz('control-lines', { iterations: 20_000, ms: 800, seed: 0xc0 }, (r) => {
    const line = someLine(r);
    const req = expectOnly(() => decodeRequest(line), isControlError, line);
    if (req.ok) assert.equal(decodeRequest(encodeRequest(req.value).trimEnd()).id, req.value.id);
    expectOnly(() => decodeReply(line), isControlError, line);
    assert.equal(typeof requestIdOf(line), 'number');
  });
});

test('fuzz line splitter: the same lines however the stream is cut', () => {
  runFuzz('line-splitter', { iterations: 3_000, ms: 600, seed: 0xc1 }, (r) => {
    const lines = Array.from({ length: 1 + r.int(6) }, () => someLine(r).replace(/\n/g, ' ').slice(0, 500));
    const stream = lines.join('\n') + '\n';
    const whole = new LineSplitter().push(stream);
    const cut = new LineSplitter();
    const pieces: string[] = [];
    for (let at = 0; at < stream.length;) {
      const n = 1 + r.int(40);
      pieces.push(...cut.push(stream.slice(at, at + n)));
      at += n;
    }
    assert.deepEqual(pieces, whole);
    assert.deepEqual(
      whole,
      lines.filter((l) => l.trim() !== ''),
    );
  });
});

test('line splitter: a long line fed one byte at a time costs linear time, not quadratic', () => {
  // Found by fuzzing the control socket: the splitter re-split and re-measured the whole pending line on every
  // chunk, so 200 KB written a byte at a time held the daemon's event loop for 11.9 s (1 MB: minutes).
  const bytes = 150_000;
  const limitMs = 1500;
  const s = new LineSplitter();
  const start = performance.now();
  for (let i = 0; i < bytes; i++) {
    s.push('a');
    if (i % 1000 === 0 && performance.now() - start > limitMs)
      assert.fail(`only ${i} of ${bytes} one-byte chunks in ${limitMs} ms`);
  }
  assert.deepEqual(s.push('\n'), ['a'.repeat(bytes)]);
  assert.throws(
    () => new LineSplitter(10).push('x'.repeat(6) + 'x'.repeat(5)),
    ControlError,
    'the bound holds across chunks',
  );
  const split = new LineSplitter(10);
  split.push('x'.repeat(6));
  assert.throws(() => split.push('x'.repeat(5)), ControlError, 'the bound counts what was pending');
});

test('fuzz control socket: random bytes and mangled requests never take the server down; a real request still works', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `fuzz-control-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let handled = 0;
  const server = await ControlServer.open([join(dir, 'run', 'ctl.sock')], async (req) => {
    handled++;
    if (req.command === 'reload') throw new Error('handler failure');
    return { command: req.command };
  });
  t.after(() => server.close());

  let connections = 0;
  await runFuzzAsync('control-socket', { iterations: 60, minIterations: 20, ms: 2000, seed: 0xc2 }, async (r) => {
    const socket = createConnection(server.path);
    connections++;
    let received = 0;
    let closed = false;
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    for (let k = 0; k < 1 + r.int(20) && !closed; k++) {
      const payload = r.chance(0.3) ? Buffer.from(r.bytes(r.int(200))) : someLine(r) + (r.chance(0.9) ? '\n' : '');
      socket.write(payload);
    }
    if (r.chance(0.5)) socket.end();
    else socket.destroy();
    await waitFor(() => closed, { what: 'the connection to close', timeoutMs: 2000 });
    assert.ok(received >= 0);
  });
  assert.ok(connections >= 20, `only ${connections} connections`);

  const client = await ControlClient.connect(server.path);
  try {
    assert.deepEqual(await client.request('status'), { command: 'status' });
  } finally {
    client.close();
  }
  t.diagnostic(`${connections} fuzz connections, ${handled} requests reached the handler`);
});
