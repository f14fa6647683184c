// A real nats-server (Debian's, with JetStream) for the lighthouse tier tests: its own temp store dir, a free
// loopback port (or a given address), and three users: `lighthouse` (may write the bucket and the punch subjects),
// `reader` (may read, never publish outside its inbox: the bucket is written only by lighthouses) and
// `lighthouse-no-watch` (a lighthouse NATS refuses consumers: its bucket watch fails at once). Killed and its
// directory removed when the test ends, even on failure. stop()/start() kill and restart it on the same port and
// store dir, for the "NATS killed and restarted" cases.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_USER = 'lighthouse';
export const NATS_PASSWORD = 'tier-secret-1';
export const NATS_READER = 'reader';
export const NATS_READER_PASSWORD = 'tier-secret-2';
/** A lighthouse user whose consumers NATS refuses (a permission mistake): its bucket watch fails at once. */
export const NATS_NO_WATCH = 'lighthouse-no-watch';
export const NATS_NO_WATCH_PASSWORD = 'tier-secret-3';
const READY_TIMEOUT_MS = 5000;

export interface NatsServerOptions {
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** A command prefix, e.g. ['ip', 'netns', 'exec', ns] to run inside a namespace. */
  wrap?: string[];
}

export class NatsServer {
  private child: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly host: string,
    readonly port: number,
    private readonly wrap: string[],
  ) {}

  static async start(t: { after(fn: () => unknown): void }, options: NatsServerOptions = {}): Promise<NatsServer> {
    const host = options.host ?? '127.0.0.1';
    const dir = mkdtempSync(join(tmpdir(), 'mesh-nats-'));
    const server = new NatsServer(dir, host, await freePort(), options.wrap ?? []);
    t.after(async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await server.start();
    return server;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  /** Starts it again after stop(); `wipe` first removes its JetStream store (the bucket is gone). */
  async start(options: { wipe?: boolean } = {}): Promise<void> {
    if (this.child) return;
    if (options.wipe) rmSync(join(this.dir, 'js'), { recursive: true, force: true });
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(
      conf,
      [
        `listen: "${this.host}:${this.port}"`,
        `jetstream { store_dir: "${join(this.dir, 'js')}", max_memory_store: 64MB, max_file_store: 256MB }`,
        'authorization {',
        '  users: [',
        `    { user: ${NATS_USER}, password: "${NATS_PASSWORD}" }`,
        `    { user: ${NATS_READER}, password: "${NATS_READER_PASSWORD}", permissions: { publish: { allow: ["_INBOX.>", "$JS.API.CONSUMER.>", "$JS.API.STREAM.INFO.>", "$JS.API.DIRECT.GET.>", "$JS.API.INFO"] } } }`,
        `    { user: ${NATS_NO_WATCH}, password: "${NATS_NO_WATCH_PASSWORD}", permissions: { publish: { deny: ["$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"] } } }`,
        '  ]',
        '}',
      ].join('\n'),
    );
    const [cmd, ...args] = [...this.wrap, 'nats-server', '-c', conf];
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server did not get ready in ${READY_TIMEOUT_MS} ms: ${log.slice(-500)}`)),
        READY_TIMEOUT_MS,
      );
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}): ${log.slice(-500)}`));
      });
    });
    child.stderr?.resume();
  }

  /** Kills it (SIGKILL: a crash, not a clean shutdown) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
