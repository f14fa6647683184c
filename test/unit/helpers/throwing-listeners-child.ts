// Run as a child process by test/unit/listener-guard.test.ts: gives every socket kind a listener that throws,
// feeds each one input, and prints one JSON line with what escapedErrors counted. An unguarded listener ends this
// process instead (the parent sees a non-zero exit and no line).

import { request } from 'node:http';
import { escapedErrors } from '../../../pkg/log/escaped-errors.js';
import { installLastResort } from '../../../pkg/daemon/last-resort.js';
import { DnsResponder } from '../../../pkg/lighthouse/dns-server.js';
import { Logger } from '../../../pkg/log/logger.js';
import { Counters } from '../../../pkg/metrics/counters.js';
import { PrometheusExporter } from '../../../pkg/metrics/prometheus-exporter.js';
import { MemoryTun } from '../../../pkg/tun/memory.js';
import { udpAddr } from '../../../pkg/udp/addr.js';
import { BatchConn } from '../../../pkg/udp/batch-conn.js';
import { MemoryNetwork } from '../../../pkg/udp/memory-udp.js';
import { DgramConn, type UdpConn } from '../../../pkg/udp/udp-conn.js';

const boom = (): never => {
  throw new Error('listener boom');
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function throwOnEveryDatagram(
  conn: UdpConn,
  times: number,
  to = udpAddr('127.0.0.1', conn.localPort),
): Promise<number> {
  let seen = 0;
  conn.onPacket(() => {
    seen++;
    boom();
  });
  for (let i = 0; i < times; i++) conn.send(Buffer.from([i]), to);
  for (let i = 0; i < 200 && seen < times; i++) await sleep(5);
  return seen;
}

async function main(): Promise<void> {
  const counters = new Counters();
  const lines: string[] = [];
  const uninstall = installLastResort({
    log: new Logger('info', 'text', (l) => lines.push(l), true),
    counters,
    devices: [],
  });
  const seen: Record<string, number> = {};

  const dgram = await DgramConn.open({ host: '127.0.0.1', port: 0 });
  seen.dgram = await throwOnEveryDatagram(dgram, 3);
  await dgram.close();
  try {
    const batch = await BatchConn.open({ host: '127.0.0.1', port: 0 });
    seen.batch = await throwOnEveryDatagram(batch, 3);
    await batch.close();
  } catch (e) {
    if ((e as { code?: string }).code !== 'EADDON') throw e;
    seen.batch = -1; // no addon on this machine
  }
  const net = new MemoryNetwork();
  const mem = net.bind('192.0.2.1', 1);
  seen.memory = await throwOnEveryDatagram(mem, 3, mem.addr);

  const tun = new MemoryTun();
  tun.onPackets(boom);
  tun.inject(new Uint8Array(20));
  tun.inject(new Uint8Array(20));

  // DNS: the outcome callback runs inside the datagram handler.
  const dns = await DnsResponder.start(
    { host: '127.0.0.1', port: 0 },
    { vpnNet: () => ({ ip: 0, mask: 0 }), hosts: () => [] },
    boom,
  );
  const client = await DgramConn.open({ host: '127.0.0.1', port: 0 });
  client.send(Buffer.from('any bytes: every datagram has an outcome'), udpAddr('127.0.0.1', dns.address().port));
  for (let i = 0; i < 200 && escapedErrors.count('dns') === 0; i++) await sleep(5);
  await client.close();
  await dns.close();

  // Metrics: a source whose counters throw while rendering.
  const source = {
    get counters(): Counters {
      return boom();
    },
    hostmap: { byVpnIp: new Map() },
    handshakes: { pending: { size: 0 } },
    relays: { table: { byIndex: new Map() } },
  };
  const exporter = await PrometheusExporter.start(source as never, {
    listen: '127.0.0.1:0',
    path: '/metrics',
    intervalMs: 60_000,
    namespace: 'm',
    subsystem: '',
  });
  const port = exporter.port;
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => res.resume().on('end', resolve));
    req.on('error', () => resolve());
    req.end();
  });
  await exporter.close();

  // Nothing caught it on the way: the process-level handler.
  setImmediate(boom);
  void Promise.reject(new Error('rejection boom'));
  await sleep(20);

  const sources = ['udp', 'tun', 'dns', 'metrics', 'process'];
  const counts = Object.fromEntries(sources.map((s) => [s, escapedErrors.count(s)]));
  const drops = Object.fromEntries(sources.map((s) => [s, counters.get('drops', `${s}-exception`)]));
  uninstall();
  process.stdout.write(JSON.stringify({ seen, counts, drops, logLines: lines.length }) + '\n');
}

void main();
