import type { Host, Lab } from './lab.js';
import type { LabProcess } from './process.js';

// A TCP bulk transfer across the overlay, checked end to end: a sink in one namespace reads each connection to its
// end and answers with the byte count and SHA-256 of what it read; the sender, in another namespace, writes a
// deterministic pseudo-random stream and compares. A transfer proves more than a ping: full-size segments, many
// packets in flight, both directions of a connection (data one way, ACKs the other), and nothing corrupted or lost.

export interface TransferResult {
  ok: boolean;
  /** Bytes the sender wrote. */
  bytes: number;
  /** What the sink said it read ("<bytes> <sha256>"), or '' when it said nothing. */
  sinkSaid: string;
  ms: number;
  /** Socket error code or 'timeout', when the transfer failed. */
  error?: string;
}

const SINK = `
const net = require('node:net');
const crypto = require('node:crypto');
const { port, ipv6 } = JSON.parse(process.argv[1]);
net.createServer((c) => {
  const h = crypto.createHash('sha256');
  let n = 0;
  c.on('error', () => {});
  c.on('data', (d) => { h.update(d); n += d.length; });
  c.on('end', () => c.end(n + ' ' + h.digest('hex') + '\\n'));
}).listen(port, ipv6 ? '::' : '0.0.0.0', () => console.log('sink listening'));
`;

const SENDER = `
const net = require('node:net');
const crypto = require('node:crypto');
const { ip, port, bytes, timeoutMs } = JSON.parse(process.argv[1]);
const t0 = Date.now();
const h = crypto.createHash('sha256');
const chunk = Buffer.alloc(64 * 1024);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
let answer = '';
const done = (error) => {
  const ok = !error && answer.trim() === bytes + ' ' + h.digest('hex');
  console.log(JSON.stringify({ ok, bytes, sinkSaid: answer.trim(), ms: Date.now() - t0, error }));
  process.exit(0);
};
const timer = setTimeout(() => done('timeout'), timeoutMs);
const c = net.connect({ host: ip, port }, () => {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      h.update(part);
      if (!c.write(part)) return c.once('drain', pump);
    }
    c.end();
  };
  pump();
});
c.on('data', (d) => { answer += d; });
c.on('end', () => { clearTimeout(timer); done(); });
c.on('error', (e) => { clearTimeout(timer); done(e.code ?? String(e)); });
`;

export class TcpSink {
  constructor(
    readonly process: LabProcess,
    readonly port: number,
  ) {}
}

/** A sink on `port` in `host`; `ipv6` listens on '::' (both families; needs IPv6 on in the namespace). */
export async function startTcpSink(
  lab: Lab,
  host: Host,
  port: number,
  options: { ipv6?: boolean } = {},
): Promise<TcpSink> {
  const proc = await lab.spawn(host, process.execPath, [
    '-e',
    SINK,
    JSON.stringify({ port, ipv6: options.ipv6 ?? false }),
  ]);
  await proc.waitForLog(/sink listening/, 5000);
  return new TcpSink(proc, port);
}

/** Sends `bytes` (default 4 MiB) from `from` to the sink at ip:port and checks what arrived. */
export async function tcpTransfer(
  lab: Lab,
  from: Host,
  ip: string,
  port: number,
  options: { bytes?: number; timeoutMs?: number } = {},
): Promise<TransferResult> {
  const bytes = options.bytes ?? 4 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { stdout } = await lab.exec(
    from,
    process.execPath,
    ['-e', SENDER, JSON.stringify({ ip, port, bytes, timeoutMs })],
    { timeoutMs: timeoutMs + 5000 },
  );
  return JSON.parse(stdout) as TransferResult;
}
