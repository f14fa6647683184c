import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
    await assert.rejects(
      ControlServer.open([path], async () => 'second'),
      ControlSocketError,
    );
    await first.close();
    // A daemon killed with SIGKILL leaves its socket file behind with nobody listening.
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
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

// A daemon never changes a directory it did not create (a chmod 700 of /tmp or /run breaks the host): an explicit
// control.socket in a directory others may write in is refused, and a default directory found too open is skipped.
describe('control socket directories', { timeout: 5000 }, () => {
  /** The error `open` fails with; a server that opens after all is closed (the test must not hang) and fails it. */
  async function refusal(opening: Promise<ControlServer>): Promise<Error> {
    let server: ControlServer;
    try {
      server = await opening;
    } catch (e) {
      return e as Error;
    }
    await server.close();
    assert.fail(`expected a refusal, but a socket opened at ${server.path}`);
  }
  /** A fresh existing directory with `mode` (chmod: the umask would narrow mkdir's mode). */
  function existingDir(mode: number): string {
    const dir = join(scratch, `shared${++seq}`);
    mkdirSync(dir);
    chmodSync(dir, mode);
    return dir;
  }
  const modeOf = (dir: string): number => statSync(dir).mode & 0o7777;

  it('uses an explicit control.socket in an existing directory like /run (root, 0755) without changing its mode', async () => {
    const dir = existingDir(0o755);
    const path = join(dir, 'mesh.sock');
    const server = await ControlServer.open([path], async () => 'ok', { configured: true });
    try {
      assert.equal(modeOf(dir), 0o755, 'the directory keeps its mode');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const client = await ControlClient.connect(path);
      assert.equal(await client.request('status'), 'ok');
      client.close();
    } finally {
      await server.close();
    }
    assert.equal(modeOf(dir), 0o755, 'and keeps it after the daemon stops');
  });

  for (const [what, mode] of [
    ['world-writable with the sticky bit, like /tmp', 0o1777],
    ['group-writable', 0o775],
  ] as const) {
    it(`refuses an explicit control.socket in a directory that is ${what}, with one error naming the key and the path`, async () => {
      const dir = existingDir(mode);
      const path = join(dir, 'mesh.sock');
      const e = await refusal(ControlServer.open([path], async () => null, { configured: true }));
      assert.ok(e instanceof ControlSocketError, String(e));
      assert.match(e.message, /^control\.socket /);
      assert.ok(e.message.includes(path), e.message);
      assert.match(e.message, /writable by its group or by everyone/);
      assert.equal(modeOf(dir), mode, 'the directory is left as it was');
      assert.equal(existsSync(path), false, 'no socket was created');
    });
  }

  it('refuses an explicit control.socket in a directory owned by another user, who could replace the socket', async () => {
    if (process.getuid?.() !== 0) return; // chown needs root
    const dir = existingDir(0o755);
    chownSync(dir, 65534, 65534);
    assert.match(
      (await refusal(ControlServer.open([join(dir, 'mesh.sock')], async () => null, { configured: true }))).message,
      /belongs to uid 65534/,
    );
    assert.equal(modeOf(dir), 0o755);
  });

  it('creates the missing directories of an explicit control.socket 0700', async () => {
    const dir = join(scratch, `made${++seq}`, 'sub');
    const server = await ControlServer.open([join(dir, 'mesh.sock')], async () => null, { configured: true });
    try {
      assert.equal(modeOf(dir), 0o700);
      assert.equal(modeOf(join(dir, '..')), 0o700);
    } finally {
      await server.close();
    }
  });

  it('leaves a default directory found open to others as it is and falls through to the next candidate', async () => {
    const open = existingDir(0o755);
    const good = socketPath();
    const server = await ControlServer.open([join(open, 'x.sock'), good], async () => null);
    try {
      assert.equal(server.path, good);
      assert.equal(modeOf(open), 0o755, 'not chmodded');
    } finally {
      await server.close();
    }
  });

  it('refuses a default directory that is a symlink or belongs to another user', async () => {
    const target = existingDir(0o700);
    const link = join(scratch, `link${++seq}`);
    symlinkSync(target, link);
    assert.match(
      (await refusal(ControlServer.open([join(link, 'x.sock')], async () => null))).message,
      /is not a directory/,
    );
    if (process.getuid?.() !== 0) return;
    const foreign = existingDir(0o700);
    chownSync(foreign, 65534, 65534);
    assert.match(
      (await refusal(ControlServer.open([join(foreign, 'x.sock')], async () => null))).message,
      /belongs to uid 65534/,
    );
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
