// Fuzzing a real daemon's UDP port: the shipped executable (dist/bin/mesh.cjs; run `make build` first) runs as a
// lighthouse and relay with tun.disabled on 127.0.0.1. An in-process node on a kernel socket handshakes with it,
// and its datagrams (stage 1, data, test, lighthouse) are captured. Then thousands of random and mutated datagrams
// go to the daemon from another loopback socket. Afterwards the process is alive, logged no exception on an
// outside packet, sent the fuzzing socket no more bytes than it received from it, still answers the first node's
// test request on the old tunnel, and completes a fresh handshake with a new node.
//
// Only loopback traffic: nothing leaves the machine, and no namespace is needed.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendOnTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import { encodeMeta, MetaType } from '../../pkg/lighthouse/meta.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import { mutateDatagram, randomBytes, runFuzzAsync } from '../unit/helpers/fuzz.js';
import { ALLOW_ALL_FIREWALL, TestMesh, type TestNode } from '../unit/helpers/mesh.js';
import { udpPacket } from '../unit/helpers/packets.js';
import { makeHostCert } from '../unit/helpers/pki.js';
import { sleep, waitFor } from '../unit/helpers/wait.js';
import { MESH_MAIN } from './lab/mesh-impl.js';

const D = '10.99.0.1';
const A = '10.99.0.2';
const B = '10.99.0.3';

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

test('a running daemon fed thousands of random and mutated datagrams stays up, never amplifies and still handshakes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `fuzz-daemon-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mesh = new TestMesh(t);
  const port = await freeUdpPort();
  const cert = makeHostCert(mesh.ca, { name: 'daemon', ip: `${D}/24` });
  const configPath = join(dir, 'config.yml');
  // JSON is YAML: the config as the daemon reads it from disk.
  const config = {
    pki: { ca: mesh.ca.pem, cert: cert.certPem, key: cert.keyPem },
    listen: { host: '127.0.0.1', port },
    tun: { disabled: true },
    lighthouse: { am_lighthouse: true },
    relay: { am_relay: true },
    firewall: ALLOW_ALL_FIREWALL,
    logging: { level: 'debug' },
    control: { socket: join(dir, 'control.sock') },
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  const logs: string[] = [];
  const daemon = spawn(MESH_MAIN, ['-config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  daemon.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  t.after(async () => {
    if (!alive(daemon)) return;
    daemon.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => daemon.once('exit', resolve)), sleep(3000)]);
    if (alive(daemon)) daemon.kill('SIGKILL');
  });
  const tail = (): string => logs.join('').split('\n').slice(-30).join('\n');
  await waitFor(() => logs.join('').includes('Mesh node started') || !alive(daemon), { timeoutMs: 10_000, what: () => `the daemon to start\n${tail()}` });
  assert.ok(alive(daemon), `the daemon exited at start:\n${tail()}`);

  // A real peer on a kernel socket; what it sends the daemon becomes the fuzzer's seeds.
  const captured: Uint8Array[] = [];
  const peer = async (vpnIp: string, name: string): Promise<TestNode> => {
    const n = await mesh.node({
      vpnIp,
      name,
      udp: 'kernel',
      underlay: { address: '127.0.0.1', port: 0 },
      config: { listen: { host: '127.0.0.1', port: 0 }, lighthouse: { hosts: [D] }, handshakes: { try_interval: '50ms' } },
      staticHostMap: { [D]: [`127.0.0.1:${port}`] },
    });
    const udp = n.node.udp;
    const send = udp.send.bind(udp);
    udp.send = (packet: Uint8Array, to: UdpAddr) => {
      captured.push(Uint8Array.from(packet));
      send(packet, to);
    };
    return n;
  };
  const a = await peer(A, 'a');
  a.tun.inject(udpPacket({ src: A, dst: D, payload: 'hello daemon' }));
  await waitFor(() => a.tunnelTo(D), { timeoutMs: 5000, what: () => `a's tunnel to the daemon\n${a.logs.join('\n')}\n${tail()}` });
  const ad = a.tunnelTo(D)!;
  sendOnTunnel(a.node, ad, MessageType.Test, 0, new Uint8Array([1, 2, 3]));
  sendOnTunnel(a.node, ad, MessageType.LightHouse, 0, encodeMeta({ type: MetaType.HostQuery, vpnIp: 0x0a630003, addrs: [], relays: [] }));
  await waitFor(() => captured.length >= 3, { timeoutMs: 3000, what: () => `3 datagrams captured (have ${captured.length})` });

  const fuzzer = dgram.createSocket('udp4');
  t.after(() => fuzzer.close());
  await new Promise<void>((resolve) => fuzzer.bind(0, '127.0.0.1', resolve));
  let bytesIn = 0;
  let repliesIn = 0;
  fuzzer.on('message', (m) => {
    bytesIn += m.length;
    repliesIn++;
  });
  let sent = 0;
  let bytesOut = 0;
  const send = (b: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) =>
      fuzzer.send(b, port, '127.0.0.1', (e) => {
        if (!e) return resolve();
        const env = (e as NodeJS.ErrnoException).code === 'ENOBUFS' ? ' (the environment ran out of socket buffers, not a daemon fault)' : '';
        reject(new Error(`sending datagram ${sent}: ${e.message}${env}`));
      }),
    );

  // Bursts of 100 with a short pause, so the loopback socket buffers never overflow.
  const stats = await runFuzzAsync('daemon-udp', { iterations: 100, ms: 4000, seed: 0xdae }, async (r) => {
    for (let k = 0; k < 100; k++) {
      const b = r.chance(0.15) ? randomBytes(r, 200) : mutateDatagram(r, r.pick(captured), captured);
      await send(b);
      sent++;
      bytesOut += b.length;
    }
    await sleep(5);
  });
  await sleep(200);
  t.diagnostic(`${sent} datagrams (${bytesOut} B) in ${stats.ms.toFixed(0)} ms; ${repliesIn} replies (${bytesIn} B) back`);
  assert.ok(sent >= 2000, `only ${sent} datagrams sent`);

  assert.ok(alive(daemon), `the daemon died:\n${tail()}`);
  const exceptions = logs.join('').split('\n').filter((l) => /exception|uncaught|fatal|timer task failed/i.test(l));
  assert.deepEqual(exceptions.slice(0, 5), [], 'no exception on outside input');
  assert.ok(bytesIn <= bytesOut, `the daemon sent ${bytesIn} bytes to a socket that sent it ${bytesOut}`);

  // The old tunnel still answers, and a new peer completes a fresh handshake.
  const answeredBefore = ad.packetsIn;
  sendOnTunnel(a.node, ad, MessageType.Test, 0, new Uint8Array([9]));
  await waitFor(() => ad.packetsIn > answeredBefore, { timeoutMs: 3000, what: () => `a test reply on the old tunnel\n${tail()}` });
  const b = await peer(B, 'b');
  b.tun.inject(udpPacket({ src: B, dst: D, payload: 'new peer' }));
  await waitFor(() => b.tunnelTo(D), { timeoutMs: 5000, what: () => `a fresh handshake\n${b.logs.join('\n')}\n${tail()}` });
  assert.ok(alive(daemon));
});
