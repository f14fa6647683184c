// The shipped daemon (dist/bin/mesh.cjs; `make build` first) as a fuzzing target on 127.0.0.1: a lighthouse and relay
// with tun.disabled, its own CA from the test's TestMesh, debug logs collected in memory, killed at the end of the
// test; and the in-process peers that talk to it. Used by the UDP and TCP daemon fuzzers (fuzz-daemon*.test.ts);
// only loopback traffic.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UdpAddr } from '../../../pkg/udp/addr.js';
import { freeUdpAndTcpPort } from '../../unit/helpers/free-port.js';
import { ALLOW_ALL_FIREWALL, type TestMesh, type TestNode } from '../../unit/helpers/mesh.js';
import { makeHostCert } from '../../unit/helpers/pki.js';
import { sleep, waitFor } from '../../unit/helpers/wait.js';
import { MESH_MAIN } from './mesh-impl.js';

export interface FuzzTarget {
  daemon: ChildProcess;
  /** The daemon's UDP port on 127.0.0.1 (its TCP listener has the same number). */
  port: number;
  /** Everything it printed so far. */
  logs: string[];
  /** The last 30 lines it printed, for failure messages. */
  tail(): string;
}

export function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

/** The lines of the daemon's output that tell of an exception (the first five, for a failure message). */
export function exceptionLines(logs: readonly string[]): string[] {
  return logs
    .join('')
    .split('\n')
    .filter((l) => /exception|uncaught|fatal|timer task failed/i.test(l))
    .slice(0, 5);
}

/** Starts the daemon as `vpnIp` and waits for `readyLog` in its output (fails if it exits first). */
export async function startFuzzTarget(
  t: { after(fn: () => unknown): void },
  mesh: TestMesh,
  vpnIp: string,
  readyLog: string,
): Promise<FuzzTarget> {
  const dir = mkdtempSync(join(tmpdir(), `fuzz-daemon-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Its TCP listener takes the same number: free for both, or the daemon could fail to start for another's socket.
  const port = await freeUdpAndTcpPort();
  const cert = makeHostCert(mesh.ca, { name: 'daemon', ip: `${vpnIp}/24` });
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
  await waitFor(() => logs.join('').includes(readyLog) || !alive(daemon), {
    timeoutMs: 10_000,
    what: () => `the daemon to log "${readyLog}"\n${tail()}`,
  });
  assert.ok(alive(daemon), `the daemon exited at start:\n${tail()}`);
  return { daemon, port, logs, tail };
}

/**
 * An in-process node on a kernel socket on 127.0.0.1 whose lighthouse is the target (`targetVpnIp` at `targetAt`),
 * retrying handshakes every 50 ms. With `captured`, every datagram it sends is copied there: real traffic, for the
 * fuzzers' seeds.
 */
export async function fuzzPeer(
  mesh: TestMesh,
  o: { vpnIp: string; name: string; targetVpnIp: string; targetAt: string; captured?: Uint8Array[] },
): Promise<TestNode> {
  const n = await mesh.node({
    vpnIp: o.vpnIp,
    name: o.name,
    udp: 'kernel',
    underlay: { address: '127.0.0.1', port: 0 },
    config: {
      listen: { host: '127.0.0.1', port: 0 },
      lighthouse: { hosts: [o.targetVpnIp] },
      handshakes: { try_interval: '50ms' },
    },
    staticHostMap: { [o.targetVpnIp]: [o.targetAt] },
  });
  const captured = o.captured;
  if (captured) {
    const udp = n.node.udp;
    const send = udp.send.bind(udp);
    udp.send = (packet: Uint8Array, to: UdpAddr) => {
      captured.push(Uint8Array.from(packet));
      send(packet, to);
    };
  }
  return n;
}
