// The daemon end of the control socket. Access control is the file system's: the socket is created 0600 inside a
// directory only the daemon's user can write in (its own 0700 one by default, see socket-dir.ts), so another user
// can neither reach it nor replace it (Node cannot read SO_PEERCRED).
// Each request line is handed to `handle`; whatever it throws becomes an error reply, never a daemon crash.

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  ControlError,
  ControlErrorCode,
  decodeRequest,
  encodeReply,
  LineSplitter,
  requestIdOf,
  type ControlReply,
  type ControlRequest,
} from './protocol.js';
import { ensureConfiguredDir, ensureOwnDir } from './socket-dir.js';
import { ControlSocketError } from './socket-error.js';

export type RequestHandler = (req: ControlRequest) => Promise<unknown>;

export { ControlSocketError };

export interface OpenOptions {
  /** The single candidate is the admin's `control.socket`: its directory is checked, not made ours (socket-dir.ts). */
  configured?: boolean;
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A socket file left by a daemon that died is removed; a live one means another daemon uses this config. */
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlSocketError(`${path} exists and is not a socket`);
  if (await isLive(path))
    throw new ControlSocketError(`${path} is in use: is another daemon running with this config?`);
  unlinkSync(path);
}

function listen(server: Server, path: string): Promise<void> {
  // The umask closes the window between bind() and chmod() in a directory others could enter (control.socket).
  const oldMask = process.umask(0o177);
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  }).finally(() => process.umask(oldMask));
}

export class ControlServer {
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  /**
   * Listens on the first of `candidates` whose directory is (or can be made) ours and private; an explicit
   * `control.socket` is passed as the only candidate with `configured`. Throws ControlSocketError naming the path
   * when none works.
   */
  static async open(candidates: string[], handle: RequestHandler, opts: OpenOptions = {}): Promise<ControlServer> {
    const reasons: string[] = [];
    for (const path of candidates) {
      try {
        if (opts.configured) ensureConfiguredDir(dirname(path), path);
        else ensureOwnDir(dirname(path));
        await clearStale(path);
        const server = createServer();
        const control = new ControlServer(path, server);
        server.on('connection', (s) => control.serve(s, handle));
        await listen(server, path);
        chmodSync(path, 0o600);
        return control;
      } catch (e) {
        if (e instanceof ControlSocketError && candidates.length === 1) throw e;
        reasons.push(`${path}: ${(e as Error).message}`);
      }
    }
    throw new ControlSocketError(`cannot open a control socket (${reasons.join('; ')})`);
  }

  private serve(socket: Socket, handle: RequestHandler): void {
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    const lines = new LineSplitter();
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      let received: string[];
      try {
        received = lines.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const line of received) void this.answer(socket, line, handle);
    });
  }

  private async answer(socket: Socket, line: string, handle: RequestHandler): Promise<void> {
    let reply: ControlReply;
    try {
      const req = decodeRequest(line);
      reply = { id: req.id, ok: true, result: await handle(req) };
    } catch (e) {
      const known = e instanceof ControlError;
      reply = {
        id: requestIdOf(line),
        ok: false,
        error: { code: known ? e.code : ControlErrorCode.internal, message: (e as Error).message },
      };
    }
    if (!socket.destroyed) socket.write(encodeReply(reply));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone (the server removes it on close on some platforms).
    }
  }
}
