import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ControlClient } from '../../pkg/control/client.js';
import { ControlError, ControlErrorCode } from '../../pkg/control/protocol.js';
import { ControlServer, ControlSocketError } from '../../pkg/control/server.js';
import { configuredSocketPath, defaultSocketPaths, RUN_DIR } from '../../pkg/control/socket-path.js';

const scratch = mkdtempSync(join(tmpdir(), `control-socket-${process.pid}-`));
after(() => rmSync(scratch, { recursive: true, force: true }));
let seq = 0;
const socketPath = (): string => join(scratch, `d${++seq}`, 'ctl.sock');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ControlError, `expected a ControlError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a rejection');
}

describe('control socket server and client', () => {
  it('answers each request with its handler result, matched by id even when replies come out of order', async () => {
    const server = await ControlServer.open([socketPath()], async (req) => {
      if (req.command === 'ping') await new Promise((r) => setTimeout(r, 30));
      return { command: req.command, args: req.args };
    });
    const client = await ControlClient.connect(server.path);
    try {
      const [slow, fast] = await Promise.all([client.request('ping', { host: 'a' }), client.request('status')]);
      assert.deepEqual(slow, { command: 'ping', args: { host: 'a' } });
      assert.deepEqual(fast, { command: 'status', args: {} });
    } finally {
      client.close();
      await server.close();
    }
  });

  it('turns a handler error into a ControlError at the client with the same code, and the daemon keeps serving', async () => {
    const server = await ControlServer.open([socketPath()], async (req) => {
      if (req.command === 'close-tunnel') throw new ControlError(ControlErrorCode.noHost, 'no tunnel to x');
      if (req.command === 'reload') throw new Error('boom');
      return 'ok';
    });
    const client = await ControlClient.connect(server.path);
    try {
      assert.equal(await codeOf(client.request('close-tunnel', { host: 'x' })), ControlErrorCode.noHost);
      assert.equal(await codeOf(client.request('reload')), ControlErrorCode.internal);
      assert.equal(await client.request('status'), 'ok');
    } finally {
      client.close();
      await server.close();
    }
  });

  it('creates the socket readable and writable by its owner only, in a directory only the owner can enter', async () => {
    const path = socketPath();
    const server = await ControlServer.open([path], async () => null);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    } finally {
      await server.close();
    }
    assert.equal(existsSync(path), false, 'close removes the socket file');
  });

  it('replaces a socket file left by a dead daemon, but refuses one a live daemon still listens on', async () => {
    const path = socketPath();
    const first = await ControlServer.open([path], async () => 'first');
    await assert.rejects(ControlServer.open([path], async () => 'second'), ControlSocketError);
    await first.close();
    // A daemon killed with SIGKILL leaves its socket file behind with nobody listening.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(statSync(path).isSocket(), 'the stale socket file is there');
    const second = await ControlServer.open([path], async () => 'second');
    const client = await ControlClient.connect(path);
    try {
      assert.equal(await client.request('status'), 'second');
    } finally {
      client.close();
      await second.close();
    }
  });

  it('falls through to the next candidate path when the first cannot be made private', async () => {
    const blocker = join(scratch, `file${++seq}`);
    writeFileSync(blocker, 'not a directory');
    const good = socketPath();
    const server = await ControlServer.open([join(blocker, 'x.sock'), good], async () => null);
    try {
      assert.equal(server.path, good);
    } finally {
      await server.close();
    }
  });

  it('tells a client that no daemon is running when nothing listens on the path', async () => {
    assert.equal(await codeOf(ControlClient.connect(join(scratch, 'nothing.sock'))), ControlErrorCode.notRunning);
  });

  it('drops a client that sends a line longer than the limit without crashing the server', async () => {
    const server = await ControlServer.open([socketPath()], async () => 'fine');
    const client = await ControlClient.connect(server.path);
    const flood = await ControlClient.connect(server.path);
    try {
      const big = 'x'.repeat(2 * 1024 * 1024);
      assert.equal(await codeOf(flood.request('status', { big })), ControlErrorCode.protocol);
      assert.equal(await client.request('status'), 'fine');
    } finally {
      client.close();
      flood.close();
      await server.close();
    }
  });
});

describe('control socket paths', () => {
  it('derives one stable socket per config path, different for different configs', () => {
    const a = defaultSocketPaths('/etc/mesh/a.yml');
    assert.deepEqual(a, defaultSocketPaths('/etc/mesh/a.yml'));
    assert.notDeepEqual(a, defaultSocketPaths('/etc/mesh/b.yml'));
    assert.ok(a[0].startsWith(`${RUN_DIR}/`), a[0]);
    assert.match(a[0], /\/[0-9a-f]{12}\.sock$/);
  });

  it('finds the same socket from a relative config path as from the absolute one', () => {
    const rel = join('..', 'x', 'cfg.yml');
    const abs = join(process.cwd(), rel);
    assert.deepEqual(defaultSocketPaths(rel), defaultSocketPaths(abs));
  });

  it('reads an explicit control.socket relative to the config directory', () => {
    assert.equal(configuredSocketPath('/run/x.sock', '/etc/mesh'), '/run/x.sock');
    assert.equal(configuredSocketPath('ctl.sock', '/etc/mesh'), '/etc/mesh/ctl.sock');
  });
});
