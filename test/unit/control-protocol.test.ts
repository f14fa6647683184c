import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ControlError,
  ControlErrorCode,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  LineSplitter,
  numberArg,
  requestIdOf,
  stringArg,
} from '../../pkg/control/protocol.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ControlError, `expected a ControlError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a throw');
}

describe('control protocol', () => {
  it('encodes a request as one JSON line that decodes to the same request', () => {
    const line = encodeRequest({ id: 7, command: 'ping', args: { host: '10.99.0.2' } });
    assert.ok(line.endsWith('\n'));
    assert.equal(line.indexOf('\n'), line.length - 1);
    assert.deepEqual(decodeRequest(line.trim()), { id: 7, command: 'ping', args: { host: '10.99.0.2' } });
  });

  it('treats missing args as an empty object', () => {
    assert.deepEqual(decodeRequest('{"id":1,"command":"status"}').args, {});
  });

  it('refuses requests that are not JSON, lack an integer id, or carry args that are not an object', () => {
    assert.equal(
      codeOf(() => decodeRequest('status')),
      ControlErrorCode.badRequest,
    );
    assert.equal(
      codeOf(() => decodeRequest('[1]')),
      ControlErrorCode.badRequest,
    );
    assert.equal(
      codeOf(() => decodeRequest('{"id":"1","command":"status"}')),
      ControlErrorCode.badRequest,
    );
    assert.equal(
      codeOf(() => decodeRequest('{"id":1.5,"command":"status"}')),
      ControlErrorCode.badRequest,
    );
    assert.equal(
      codeOf(() => decodeRequest('{"id":1,"command":"status","args":[]}')),
      ControlErrorCode.badRequest,
    );
  });

  it('names an unknown command with its own error code', () => {
    assert.equal(
      codeOf(() => decodeRequest('{"id":1,"command":"rm -rf"}')),
      ControlErrorCode.unknownCommand,
    );
  });

  it('recovers the id of a bad request so the error reply can be matched, or 0', () => {
    assert.equal(requestIdOf('{"id":9,"command":"nope"}'), 9);
    assert.equal(requestIdOf('garbage'), 0);
  });

  it('round-trips success and error replies', () => {
    const ok = { id: 3, ok: true as const, result: { peers: [] } };
    assert.deepEqual(decodeReply(encodeReply(ok).trim()), ok);
    const bad = { id: 4, ok: false as const, error: { code: ControlErrorCode.noHost, message: 'no tunnel to x' } };
    assert.deepEqual(decodeReply(encodeReply(bad).trim()), bad);
  });

  it('rejects replies without id, ok, or a complete error', () => {
    assert.equal(
      codeOf(() => decodeReply('{"ok":true}')),
      ControlErrorCode.protocol,
    );
    assert.equal(
      codeOf(() => decodeReply('{"id":1,"ok":false,"error":{"code":"X"}}')),
      ControlErrorCode.protocol,
    );
    assert.equal(
      codeOf(() => decodeReply('not json')),
      ControlErrorCode.protocol,
    );
  });

  it('splits a byte stream into lines however it is chunked, and skips blank lines', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a"'), []);
    assert.deepEqual(s.push(':1}\n\n{"b":2}\n{"c"'), ['{"a":1}', '{"b":2}']);
    assert.deepEqual(s.push(':3}\n'), ['{"c":3}']);
  });

  it('refuses a line longer than its limit, complete or not', () => {
    assert.throws(() => new LineSplitter(10).push('x'.repeat(11)), ControlError);
    assert.throws(() => new LineSplitter(10).push('x'.repeat(11) + '\n'), ControlError);
  });

  it('checks argument types and ranges, naming the argument', () => {
    assert.equal(stringArg({ host: 'a' }, 'host'), 'a');
    assert.throws(() => stringArg({}, 'host'), /host is required/);
    assert.equal(numberArg({}, 'timeoutMs', 2000, 1, 10), 2000);
    assert.throws(() => numberArg({ timeoutMs: 0 }, 'timeoutMs', 5, 1, 10), /timeoutMs must be a number in \[1, 10\]/);
    assert.throws(() => numberArg({ timeoutMs: '5' }, 'timeoutMs', 5, 1, 10), ControlError);
  });
});
