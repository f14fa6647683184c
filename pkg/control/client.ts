// The client end of the control socket: one connection, requests matched to replies by id, each with a deadline.
// Connection failures become ControlErrors a person can act on (daemon not running, permission denied).

import { createConnection, type Socket } from 'node:net';
import {
  ControlError,
  ControlErrorCode,
  decodeReply,
  encodeRequest,
  LineSplitter,
  type Command,
  type ControlReply,
} from './protocol.js';

function connectError(path: string, e: NodeJS.ErrnoException): ControlError {
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new ControlError(
      ControlErrorCode.denied,
      `permission denied on ${path}: the control socket is for root (the daemon's user) only`,
    );
  }
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new ControlError(
      ControlErrorCode.notRunning,
      `no daemon is listening on ${path}: is mesh running with this config?`,
    );
  }
  return new ControlError(ControlErrorCode.protocol, `cannot connect to ${path}: ${e.message}`);
}

interface Waiter {
  resolve(reply: ControlReply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ControlClient {
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private closedError: ControlError | null = null;

  private constructor(
    readonly path: string,
    private readonly socket: Socket,
  ) {
    const lines = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      try {
        for (const line of lines.push(chunk)) this.onReply(decodeReply(line));
      } catch (e) {
        this.fail(e instanceof ControlError ? e : new ControlError(ControlErrorCode.protocol, (e as Error).message));
      }
    });
    socket.on('error', (e) =>
      this.fail(new ControlError(ControlErrorCode.protocol, `control connection failed: ${e.message}`)),
    );
    socket.on('close', () =>
      this.fail(new ControlError(ControlErrorCode.protocol, 'the daemon closed the control connection')),
    );
  }

  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlError(ControlErrorCode.timeout, `timed out connecting to ${path}`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(path, socket));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(path, e));
      });
    });
  }

  /** Sends one request; resolves with its result or rejects with the daemon's ControlError. */
  request<T>(command: Command, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<ControlReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(
          new ControlError(ControlErrorCode.timeout, `the daemon did not answer ${command} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.socket.write(encodeRequest({ id, command, args }));
    }).then((reply) => {
      if (!reply.ok) throw new ControlError(reply.error.code, reply.error.message);
      return reply.result as T;
    });
  }

  private onReply(reply: ControlReply): void {
    const w = this.waiters.get(reply.id);
    if (!w) return;
    this.waiters.delete(reply.id);
    clearTimeout(w.timer);
    w.resolve(reply);
  }

  private fail(e: ControlError): void {
    this.closedError ??= e;
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(e);
      this.waiters.delete(id);
    }
  }

  close(): void {
    this.closedError ??= new ControlError(ControlErrorCode.protocol, 'client closed');
    this.socket.destroy();
  }
}
