// TCP framing (pkg/tcp/frame.ts, docs/tcp-fallback.md): u16 length + one packet, reassembled across any split.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameReader, MAX_FRAME } from '../../pkg/tcp/frame.js';

function collect(reader: FrameReader, chunks: Buffer[]): { frames: string[]; error: string | null } {
  const frames: string[] = [];
  let error: string | null = null;
  for (const c of chunks) error = reader.push(c, (p) => frames.push(p.toString('hex'))) ?? error;
  return { frames, error };
}

test('a frame is its length in two big-endian bytes, then the packet', () => {
  assert.equal(encodeFrame(Uint8Array.from([0xaa, 0xbb, 0xcc])).toString('hex'), '0003aabbcc');
  assert.equal(encodeFrame(new Uint8Array(MAX_FRAME)).readUInt16BE(0), MAX_FRAME);
  assert.throws(() => encodeFrame(new Uint8Array(0)), RangeError);
  assert.throws(() => encodeFrame(new Uint8Array(MAX_FRAME + 1)), RangeError);
});

test('frames split at every byte boundary, or several in one chunk, come out whole and in order', () => {
  const packets = [Buffer.from('01'), Buffer.alloc(300, 7), Buffer.from('abcdef', 'hex')];
  const stream = Buffer.concat(packets.map((p) => encodeFrame(p)));
  const expected = packets.map((p) => p.toString('hex'));
  assert.deepEqual(collect(new FrameReader(), [stream]).frames, expected);
  for (let cut = 0; cut <= stream.length; cut++) {
    const out = collect(new FrameReader(), [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.deepEqual(out.frames, expected, `cut at ${cut}`);
  }
  const bytewise = collect(
    new FrameReader(),
    [...stream].map((b) => Buffer.from([b])),
  );
  assert.deepEqual(bytewise.frames, expected);
});

test('a zero or over-long length stops the reader for good, and it holds no more than one frame meanwhile', () => {
  const r = new FrameReader();
  const partial = encodeFrame(Buffer.alloc(MAX_FRAME, 1)).subarray(0, MAX_FRAME);
  assert.equal(collect(r, [partial]).error, null);
  assert.equal(r.buffered, MAX_FRAME);
  const tooLong = Buffer.alloc(2);
  tooLong.writeUInt16BE(MAX_FRAME + 1);
  assert.equal(collect(new FrameReader(), [tooLong]).error, 'frame-too-long');
  const empty = new FrameReader();
  const out = collect(empty, [Buffer.concat([Buffer.from('0000', 'hex'), encodeFrame(Buffer.from('01'))])]);
  assert.equal(out.error, 'frame-empty');
  assert.deepEqual(out.frames, []);
  assert.deepEqual(collect(empty, [encodeFrame(Buffer.from('02'))]).frames, [], 'nothing after the error');
});
