// A real TUN inside a network namespace this test creates. The device must live in the namespace, so each story
// runs a child `node` (this same file, with MESH_TUN_E2E_ROLE set) under `ip netns exec`; the child reports on
// stdout lines starting with "@@" and takes commands on stdin. The parent drives ping/ip in the namespace.

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { icmpEchoReply } from '../../pkg/datapath/echo-responder.js';
import { parseCidr } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import type { TunDevice } from '../../pkg/tun/device.js';
import { openTun } from '../../pkg/tun/open.js';

const ROLE = process.env.MESH_TUN_E2E_ROLE;
const NS = process.env.MESH_TUN_E2E_NS ?? `mtun${process.pid}`;
// The far side of the TCP-through-two-TUNs story: one TUN is moved here, so TCP between the namespaces crosses both.
const NS2 = `${NS}b`;
const run = promisify(execFile);

// ---- packets -------------------------------------------------------------------------------------------------

function checksum(buf: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Writes the echo reply to `req` into `out` and returns its length, or 0 when `req` is no ICMP echo request. */
function echoReply(req: Uint8Array, out: Uint8Array): number {
  const ihl = (req[0] & 0x0f) * 4;
  if (req[0] >> 4 !== 4 || req[9] !== 1 || req.length < ihl + 8 || req[ihl] !== 8) return 0;
  out.set(req);
  out.set(req.subarray(12, 16), 16); // the reply comes from whom the request went to
  out.set(req.subarray(16, 20), 12);
  out[ihl] = 0; // echo reply
  out[ihl + 2] = out[ihl + 3] = 0;
  const icmpSum = checksum(out, ihl, req.length);
  out[ihl + 2] = icmpSum >> 8;
  out[ihl + 3] = icmpSum & 0xff;
  out[10] = out[11] = 0;
  const ipSum = checksum(out, 0, ihl);
  out[10] = ipSum >> 8;
  out[11] = ipSum & 0xff;
  return req.length;
}

// ---- child side ----------------------------------------------------------------------------------------------

function report(msg: Record<string, unknown>): void {
  process.stdout.write(`@@${JSON.stringify(msg)}\n`);
}

async function commands(): Promise<AsyncIterator<string>> {
  return createInterface({ input: process.stdin })[Symbol.asyncIterator]();
}

async function closeOnCommand(tun: TunDevice, extra: () => Record<string, unknown>): Promise<void> {
  const lines = await commands();
  await lines.next(); // "close"
  await tun.close();
  report({ event: 'closed', stats: tun.stats, ...extra() });
  await lines.next(); // "exit": the parent has looked at the namespace while we were still alive
  process.exit(0);
}

async function echoRole(): Promise<void> {
  const tun = await openTun({ name: 'mtecho0', mtu: 1300, address: parseCidr('10.200.0.1/24') });
  const batchSizes: number[] = [];
  let echoRequests = 0;
  const scratch = new Uint8Array(64 * 1400);
  tun.onPackets((packets) => {
    batchSizes.push(packets.length);
    const replies: Uint8Array[] = [];
    for (const p of packets) {
      const slot = scratch.subarray(replies.length * 1400, (replies.length + 1) * 1400);
      const len = echoReply(p, slot);
      if (len === 0) continue;
      echoRequests++;
      replies.push(slot.subarray(0, len));
    }
    if (replies.length > 0) tun.writeBatch(replies);
  });
  report({ event: 'ready', name: tun.name });
  await closeOnCommand(tun, () => ({ batchSizes, echoRequests }));
}

async function routesRole(): Promise<void> {
  const tun = await openTun({
    name: 'mtroute0',
    mtu: 1300,
    txQueueLen: 700,
    address: parseCidr('10.200.0.1/24'),
    routes: [{ route: parseCidr('10.200.0.128/25'), mtu: 1200 }],
    unsafeRoutes: [{ route: parseCidr('192.168.77.0/24'), mtu: 1100, metric: 50 }],
  });
  report({ event: 'ready', name: tun.name, mtu: tun.mtu });
  await closeOnCommand(tun, () => ({}));
}

async function burstRole(): Promise<void> {
  const tun = await openTun({ name: 'mtburst0', mtu: 1300, address: parseCidr('10.200.0.1/24') });
  const socket = dgram.createSocket('udp4');
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) =>
      socket.send(Buffer.from([i]), 9, '10.200.0.9', (err) => (err ? reject(err) : resolve())),
    );
  }
  socket.close();
  // Only now does reading start: all 20 datagrams wait in the kernel queue and should come as one batch.
  const first = await new Promise<{ count: number; udpTo9: number; payloads: number[] }>((resolve) =>
    tun.onPackets((packets) => {
      const udp = packets.filter((p) => p[9] === 17 && p[16] === 10 && p[19] === 9 && ((p[22] << 8) | p[23]) === 9);
      resolve({ count: packets.length, udpTo9: udp.length, payloads: udp.map((p) => p[28]) });
    }),
  );
  await tun.close();
  report({ event: 'batch', ...first });
  process.exit(0);
}

/** An IPv4/UDP packet 10.201.0.2:7 -> 10.200.0.9:9 of `size` bytes (UDP checksum 0: none). */
function udpPacket(size: number): Uint8Array {
  const p = new Uint8Array(size);
  p.set([0x45, 0, size >> 8, size & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 201, 0, 2, 10, 200, 0, 9]);
  p.set([0, 7, 0, 9, (size - 20) >> 8, (size - 20) & 0xff, 0, 0], 20);
  const sum = checksum(p, 0, 20);
  p[10] = sum >> 8;
  p[11] = sum & 0xff;
  return p;
}

// The far end of the rate measurement: reads mtr0 (10.200.0.0/24). "drain N" starts reading and reports how long
// the N packets already queued took; "start" just starts; "count" reports what arrived so far.
async function readerRole(): Promise<void> {
  const tun = await openTun({ name: 'mtr0', mtu: 1300, txQueueLen: 10_000, address: parseCidr('10.200.0.1/24') });
  let packets = 0;
  let goal = Infinity;
  let t0 = 0;
  const start = (): void =>
    tun.onPackets((batch) => {
      packets += batch.length;
      if (packets >= goal) {
        goal = Infinity;
        report({ event: 'drained', packets, ms: performance.now() - t0 });
      }
    });
  report({ event: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.split(' ');
    if (cmd === 'drain') {
      goal = Number(arg);
      t0 = performance.now();
      start();
    } else if (cmd === 'start') start();
    else if (cmd === 'count') report({ event: 'count', packets, stats: tun.stats });
    else if (cmd === 'reset') packets = 0;
    else break;
  }
  await tun.close();
  process.exit(0);
}

// The near end: writes UDP packets into mtw0 (10.201.0.0/24); the namespace forwards them out of mtr0.
// "blast MS SIZE" writes batches of 64 for MS milliseconds; "send N SIZE" writes exactly N.
async function writerRole(): Promise<void> {
  const tun = await openTun({ name: 'mtw0', mtu: 1300, address: parseCidr('10.201.0.1/24') });
  report({ event: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, a, b] = line.split(' ');
    if (cmd !== 'blast' && cmd !== 'send') break;
    const size = Number(b);
    const slots = new Uint8Array(64 * size);
    const batch = Array.from({ length: 64 }, (_, i) => {
      slots.set(udpPacket(size), i * size);
      return slots.subarray(i * size, (i + 1) * size);
    });
    const before = { ...tun.stats! };
    const t0 = performance.now();
    if (cmd === 'send') {
      for (let left = Number(a); left > 0; left -= 64) tun.writeBatch(batch.slice(0, Math.min(64, left)));
    } else {
      const end = t0 + Number(a);
      // Yield between bursts so the loop stays alive, as a real pipeline would.
      await new Promise<void>((resolve) => {
        const burst = (): void => {
          for (let k = 0; k < 32; k++) tun.writeBatch(batch);
          if (performance.now() < end) setImmediate(burst);
          else resolve();
        };
        burst();
      });
    }
    report({
      event: 'sent',
      ms: performance.now() - t0,
      written: tun.stats!.writtenPackets - before.writtenPackets,
      drops: tun.stats!.writeDrops - before.writeDrops,
    });
  }
  await tun.close();
  process.exit(0);
}

// A dual-stack TUN (an IPv4 and an IPv6 network, an IPv6 route and unsafe route) that answers echo requests of
// both families with the data path's own echo responder and counts everything else the kernel sends it.
async function dualRole(): Promise<void> {
  const tun = await openTun({
    name: 'mtdual0',
    mtu: 1300,
    networks: [parseIpPrefix('10.202.0.1/24'), parseIpPrefix('fd00:ca::1/64')],
    routes: [{ route: 'fd00:cb::/64', mtu: 1280 }],
    unsafeRoutes: [{ route: 'fd00:cc::/48', metric: 20 }],
  });
  const seen = { echo4: 0, echo6: 0, other4: 0, other6: [] as string[] };
  tun.onPackets((packets) => {
    const replies: Uint8Array[] = [];
    for (const p of packets) {
      const reply = icmpEchoReply(p);
      if (reply !== null) {
        if (p[0] >> 4 === 6) seen.echo6++;
        else seen.echo4++;
        replies.push(reply);
      } else if (p[0] >> 4 === 6)
        seen.other6.push(`next header ${p[6]} type ${p[40]} to ${Buffer.from(p.subarray(24, 40)).toString('hex')}`);
      else seen.other4++;
    }
    if (replies.length > 0) tun.writeBatch(replies);
  });
  report({ event: 'ready', name: tun.name, mtu: tun.mtu });
  await closeOnCommand(tun, () => seen);
}

// Two TUNs joined back to back: whatever one reads is written to the other, as the tunnel would. The parent moves
// mtpb0 into NS2 and configures it there, so TCP between the namespaces goes kernel -> mtpa0 (TSO cut on read)
// -> mtpb0 (GRO join on write) -> kernel, and back. "stats" reports both devices' counters.
async function pairRole(): Promise<void> {
  const a = await openTun({
    name: 'mtpa0',
    mtu: 1300,
    networks: [parseIpPrefix('10.203.1.1/24'), parseIpPrefix('fd00:d1::1/64')],
    routes: [{ route: '10.203.2.0/24' }, { route: 'fd00:d2::/64' }],
  });
  const b = await openTun({ name: 'mtpb0', mtu: 1300, networks: [parseIpPrefix('10.203.9.1/24')] });
  a.onPackets((packets) => b.writeBatch(packets));
  b.onPackets((packets) => a.writeBatch(packets));
  report({ event: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'stats') break;
    report({ event: 'stats', a: a.stats, b: b.stats });
  }
  await a.close();
  await b.close();
  process.exit(0);
}

// A dual-stack TUN on a host where new interfaces have IPv6 disabled: reports how openTun fails.
async function noIpv6Role(): Promise<void> {
  const error = await openTun({
    name: 'mtnov6',
    mtu: 1300,
    networks: [parseIpPrefix('10.204.0.1/24'), parseIpPrefix('fd00:ce::1/64')],
  }).then(
    () => null,
    (e: Error & { code?: string }) => ({ code: e.code, message: e.message }),
  );
  report({ event: 'result', error });
  process.exit(0);
}

// ---- parent side ---------------------------------------------------------------------------------------------

class Child {
  private readonly proc: ChildProcess;
  private readonly messages: Record<string, unknown>[] = [];
  private waiter: (() => void) | null = null;

  constructor(role: string) {
    const env: NodeJS.ProcessEnv = { ...process.env, MESH_TUN_E2E_ROLE: role };
    delete env.NODE_TEST_CONTEXT; // the child is a plain script, not a test-runner child
    this.proc = spawn('ip', ['netns', 'exec', NS, process.execPath, fileURLToPath(import.meta.url)], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('@@')) return;
      this.messages.push(JSON.parse(line.slice(2)));
      this.waiter?.();
    });
    this.proc.on('exit', () => this.waiter?.());
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON event line from the probe
  async next(event: string, timeoutMs = 10_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => m.event === event);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`child exited before ${event}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${event}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  send(command: string): void {
    this.proc.stdin!.write(`${command}\n`);
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

function inNs(...args: string[]): Promise<{ stdout: string }> {
  return run('ip', ['netns', 'exec', NS, ...args], { timeout: 20_000 });
}

/** The kernel's counters of a device (a GSO super-packet counts once). */
async function linkStats(ns: string, dev: string): Promise<{ rx: number; tx: number }> {
  const [link] = JSON.parse((await run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev])).stdout);
  return { rx: link.stats64.rx.packets, tx: link.stats64.tx.packets };
}

// The TCP ends of the two-TUN story, plain node scripts run in a namespace: the server hashes what arrives, the
// client sends `bytes` of random data and hashes what it sent.
const TCP_SERVER = `const s = require('net').createServer((c) => {
  const h = require('crypto').createHash('sha256'); let n = 0;
  c.on('data', (d) => { h.update(d); n += d.length; });
  c.on('end', () => { console.log(JSON.stringify({ bytes: n, sha: h.digest('hex') })); c.end(); s.close(); });
}); s.listen(5599, '::', () => console.log('listening'));`;
const TCP_CLIENT = `const [host, total] = [process.argv[1], Number(process.argv[2])];
const block = require('crypto').randomBytes(1 << 20); const h = require('crypto').createHash('sha256');
const c = require('net').connect(5599, host, async () => {
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, total - sent)); block[sent % 997] ^= 1;
    h.update(chunk); if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
  }
  c.end(() => console.log(JSON.stringify({ sha: h.digest('hex'), ms: performance.now() - t0 })));
}); c.on('error', (e) => { console.error(e.message); process.exit(1); });`;

/** Sends `bytes` from NS to `host` in NS2 over TCP; returns what both ends saw. */
async function tcpAcross(
  host: string,
  bytes: number,
): Promise<{ sent: string; received: { bytes: number; sha: string }; ms: number }> {
  const server = spawn('ip', ['netns', 'exec', NS2, process.execPath, '-e', TCP_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, 'listening');
    const client = await run('ip', ['netns', 'exec', NS, process.execPath, '-e', TCP_CLIENT, host, String(bytes)], {
      timeout: 60_000,
    });
    const { sha, ms } = JSON.parse(client.stdout);
    const received = JSON.parse((await lines.next()).value);
    return { sent: sha, received, ms };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

async function linkExists(name: string): Promise<boolean> {
  return run('ip', ['-n', NS, 'link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
}

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  if (!existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)))) {
    return 'the addon is not built (npx node-gyp rebuild)';
  }
  return false;
}

if (ROLE === 'echo') await echoRole();
else if (ROLE === 'routes') await routesRole();
else if (ROLE === 'burst') await burstRole();
else if (ROLE === 'reader') await readerRole();
else if (ROLE === 'writer') await writerRole();
else if (ROLE === 'dual') await dualRole();
else if (ROLE === 'pair') await pairRole();
else if (ROLE === 'noipv6') await noIpv6Role();
else {
  describe('Linux TUN device in a network namespace', { skip: skipReason() }, () => {
    const children: Child[] = [];
    const child = (role: string): Child => {
      const c = new Child(role);
      children.push(c);
      return c;
    };

    before(async () => {
      await run('ip', ['netns', 'add', NS]);
      await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    });

    after(async () => {
      for (const c of children) c.kill();
      await run('ip', ['netns', 'del', NS]).catch(() => {});
    });

    test('ping through the TUN succeeds: echo requests arrive in batches and the written replies reach ping', async () => {
      const c = child('echo');
      const { name } = await c.next('ready');
      assert.equal(name, 'mtecho0');

      const { stdout } = await inNs('ping', '-c', '3', '-i', '0.2', '-W', '2', '10.200.0.2');
      assert.match(stdout, /3 packets transmitted, 3 received/);

      c.send('close');
      const closed = await c.next('closed');
      assert.ok(closed.echoRequests >= 3, `echo requests seen: ${closed.echoRequests}`);
      assert.ok(closed.batchSizes.length >= 1);
      assert.ok(closed.batchSizes.every((n: number) => n >= 1));
      const sum = closed.batchSizes.reduce((a: number, b: number) => a + b, 0);
      assert.equal(sum, closed.stats.readPackets);
      assert.equal(closed.batchSizes.length, closed.stats.readBatches);
      assert.ok(closed.stats.writtenPackets >= 3);
      assert.equal(closed.stats.writeDrops, 0);
      c.send('exit');
    });

    test('routes get their own MTU (and advmss), unsafe routes their metric; close deletes the device and routes', async () => {
      const c = child('routes');
      const { name, mtu } = await c.next('ready');
      assert.equal(name, 'mtroute0');
      assert.equal(mtu, 1300, 'the device MTU is the largest route MTU');

      const link = (await run('ip', ['-n', NS, 'link', 'show', 'dev', name])).stdout;
      assert.match(link, /mtu 1300 /);
      assert.match(link, /qlen 700/);
      assert.match(link, /[<,]UP[,>]/);
      const addr = (await run('ip', ['-n', NS, '-4', 'addr', 'show', 'dev', name])).stdout;
      assert.match(addr, /inet 10\.200\.0\.1\/24 /);
      const routes = (await run('ip', ['-n', NS, 'route', 'show', 'dev', name])).stdout;
      assert.match(routes, /^10\.200\.0\.0\/24 proto kernel scope link src 10\.200\.0\.1 mtu 1300 *$/m);
      assert.match(routes, /^10\.200\.0\.128\/25 scope link mtu 1200 advmss 1160 *$/m);
      assert.match(routes, /^192\.168\.77\.0\/24 scope link metric 50 mtu 1100 advmss 1060 *$/m);

      c.send('close');
      await c.next('closed');
      // The child is still alive (holding nothing): the device went away because close() closed the fd.
      assert.equal(await linkExists(name), false);
      const left = (await run('ip', ['-n', NS, 'route', 'show', 'table', 'all'])).stdout;
      assert.doesNotMatch(left, /mtroute0|10\.200\.0\.|192\.168\.77\./);
      c.send('exit');
    });

    test('a dual-stack TUN gets both addresses and its IPv6 routes, answers ping over IPv4 and IPv6, and sends nothing unasked', async () => {
      const c = child('dual');
      const { name, mtu } = await c.next('ready');
      assert.equal(mtu, 1300);
      const addr6 = (await run('ip', ['-n', NS, '-6', 'addr', 'show', 'dev', name])).stdout;
      assert.match(addr6, /inet6 fd00:ca::1\/64 scope global/);
      assert.doesNotMatch(addr6, /fe80:/, 'no link-local address (addrgenmode none)');
      assert.match((await run('ip', ['-n', NS, '-4', 'addr', 'show', 'dev', name])).stdout, /inet 10\.202\.0\.1\/24 /);
      const routes6 = (await run('ip', ['-n', NS, '-6', 'route', 'show', 'dev', name])).stdout;
      assert.match(routes6, /^fd00:ca::\/64 proto kernel metric 256 mtu 1300 /m);
      assert.equal(routes6.match(/^fd00:ca::\/64 /gm)?.length, 1, 'the connected route replaced, not doubled');
      assert.match(routes6, /^fd00:cb::\/64 metric 1024 mtu 1280 advmss 1220 /m);
      assert.match(routes6, /^fd00:cc::\/48 metric 20 mtu 1300 /m);
      assert.equal((await inNs('cat', `/proc/sys/net/ipv6/conf/${name}/accept_ra`)).stdout.trim(), '0');

      await new Promise((resolve) => setTimeout(resolve, 500)); // time for any DAD, MLD or solicitation to show
      const pings = [['10.202.0.9'], ['-6', 'fd00:ca::9'], ['-6', 'fd00:cb::5'], ['-6', 'fd00:cc:0:1::7']];
      for (const target of pings) {
        const { stdout } = await inNs('ping', '-c', '2', '-i', '0.2', '-W', '2', ...target);
        assert.match(stdout, /2 packets transmitted, 2 received/, `ping ${target.join(' ')}`);
      }
      c.send('close');
      const closed = await c.next('closed');
      assert.equal(closed.echo4, 2);
      assert.equal(closed.echo6, 6);
      assert.deepEqual(closed.other6, [], 'the kernel sent no IPv6 packet of its own (no RS, MLD or DAD)');
      assert.equal(closed.stats.writeDrops, 0);
      c.send('exit');
    });

    test('TCP over IPv4 and IPv6 through two TUNs: TSO super-packets are cut on read, segments joined on write, data intact', async (t) => {
      await run('ip', ['netns', 'add', NS2]);
      try {
        const c = child('pair');
        await c.next('ready');
        await run('ip', ['-n', NS, 'link', 'set', 'dev', 'mtpb0', 'netns', NS2]);
        for (const args of [
          ['link', 'set', 'dev', 'mtpb0', 'addrgenmode', 'none'],
          ['link', 'set', 'dev', 'mtpb0', 'up'],
          ['addr', 'add', '10.203.2.1/24', 'dev', 'mtpb0'],
          ['addr', 'add', 'fd00:d2::1/64', 'dev', 'mtpb0'],
          ['route', 'add', '10.203.1.0/24', 'dev', 'mtpb0'],
          ['route', 'add', 'fd00:d1::/64', 'dev', 'mtpb0'],
        ]) {
          await run('ip', ['-n', NS2, ...args]);
        }
        const bytes = 16 << 20;
        const rates: Record<string, number> = {};
        for (const [family, host] of [
          ['IPv4', '10.203.2.1'],
          ['IPv6', 'fd00:d2::1'],
        ]) {
          c.send('stats');
          const before = await c.next('stats');
          const kernelBefore = { a: await linkStats(NS, 'mtpa0'), b: await linkStats(NS2, 'mtpb0') };
          const r = await tcpAcross(host, bytes);
          c.send('stats');
          const after = await c.next('stats');
          const kernelAfter = { a: await linkStats(NS, 'mtpa0'), b: await linkStats(NS2, 'mtpb0') };
          assert.equal(r.received.bytes, bytes, `${family}: all bytes arrived`);
          assert.equal(r.received.sha, r.sent, `${family}: the bytes arrived unaltered`);
          // Segments we read from mtpa0 vs what its kernel sent (super-packets count once there), and segments we
          // wrote to mtpb0 vs what its kernel received (a joined write counts once).
          const segmentsRead = after.a.readPackets - before.a.readPackets;
          const kernelSent = kernelAfter.a.tx - kernelBefore.a.tx;
          const segmentsWritten = after.b.writtenPackets - before.b.writtenPackets;
          const kernelReceived = kernelAfter.b.rx - kernelBefore.b.rx;
          rates[family] = Math.round((bytes * 8) / r.ms / 1000);
          t.diagnostic(
            `${family}: ${rates[family]} Mbit/s; read ${segmentsRead} segments from ${kernelSent} kernel packets (TSO), ` +
              `wrote ${segmentsWritten} segments as ${kernelReceived} kernel packets (GRO)`,
          );
          assert.ok(segmentsRead >= bytes / 1300, `${family}: the data crossed as MTU-sized segments`);
          assert.ok(kernelSent * 2 < segmentsRead, `${family}: the kernel handed over TSO super-packets`);
          assert.ok(kernelReceived * 2 < segmentsWritten, `${family}: writes joined segments into super-packets`);
        }
        c.send('exit');
      } finally {
        await run('ip', ['netns', 'del', NS2]).catch(() => {});
      }
    });

    test('where new interfaces have IPv6 disabled, a dual-stack TUN fails with a message naming the sysctl, and leaves no device', async () => {
      await inNs('sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
      try {
        const { error } = await child('noipv6').next('result');
        assert.equal(error?.code, 'ETUNCONFIG');
        assert.match(error.message, /net\.ipv6\.conf\.default\.disable_ipv6/);
        assert.match(error.message, /fd00:ce::1\/64/);
        assert.equal(await linkExists('mtnov6'), false);
      } finally {
        await inNs('sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=0');
      }
    });

    test('packets queued before reading starts are delivered together as one batch', async () => {
      const c = child('burst');
      const batch = await c.next('batch');
      assert.equal(batch.udpTo9, 20);
      assert.deepEqual(
        batch.payloads,
        Array.from({ length: 20 }, (_, i) => i),
      );
    });

    test('the read path moves a queued backlog and a sustained stream of forwarded packets (rate printed)', async (t) => {
      await inNs('sysctl', '-qw', 'net.ipv4.ip_forward=1');
      const reader = child('reader');
      const writer = child('writer');
      await reader.next('ready');
      await writer.next('ready');

      // Backlog: 8000 packets wait in mtr0's queue; then reading starts and we time the drain.
      const backlog = 8000;
      writer.send(`send ${backlog} 92`);
      assert.equal((await writer.next('sent')).written, backlog);
      await new Promise((resolve) => setTimeout(resolve, 200));
      reader.send(`drain ${backlog}`);
      const drained = await reader.next('drained', 20_000);
      const drainRate = Math.round((backlog / drained.ms) * 1000);

      t.diagnostic(`tun read path: a backlog of ${backlog} 92-byte packets drained at ${drainRate} packets/s`);

      // Sustained: the writer blasts for 1 s per size while the reader keeps up as it can.
      for (const size of [92, 1300]) {
        reader.send('count');
        const before = await reader.next('count');
        writer.send(`blast 1000 ${size}`);
        const sent = await writer.next('sent', 20_000);
        await new Promise((resolve) => setTimeout(resolve, 200));
        reader.send('count');
        const afterBlast = await reader.next('count');
        const got = afterBlast.packets - before.packets;
        const batches = afterBlast.stats.readBatches - before.stats.readBatches;
        t.diagnostic(
          `tun read path: ${size}-byte packets sustained ${Math.round((got / sent.ms) * 1000)} packets/s read ` +
            `(${got} of ${sent.written} written in ${Math.round(sent.ms)} ms, mean batch ${(got / Math.max(1, batches)).toFixed(1)})`,
        );
        assert.ok(got > 0);
      }
      assert.ok(drained.packets >= backlog);
      reader.send('exit');
      writer.send('exit');
    });
  });
}
