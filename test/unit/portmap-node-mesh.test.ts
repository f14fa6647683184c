import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { PCP_MAP_LEN, PCP_PORT } from '../../pkg/portmap/pcp-wire.js';
import { PORTMAP_START_DELAY_MS } from '../../pkg/portmap/node-portmap.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { addrKey } from '../../pkg/udp/addr.js';
import { TestMesh, underlayOf } from './helpers/mesh.js';
import { advanceFor, advanceUntil, waitFor } from './helpers/wait.js';

// Port mapping in a whole node (daemon/portmap-wiring.ts, portmap/node-portmap.ts): a node that opts in asks a fake
// PCP gateway on loopback for its listen port, and once the mapping's external IP is where the lighthouse sees it,
// the mapped address goes out in a lighthouse update (docs/portmap.md). Protocol time runs on a ManualClock; the
// gateway exchange is real UDP on loopback, waited for in real time.

const L = '10.99.0.10';
const A = '10.99.0.1';
const MAPPED_PORT = 40123;

/**
 * A PCP server that grants every MAP request `externalIp`:MAPPED_PORT for the lifetime asked (a delete, lifetime 0,
 * is granted too). Bound on a loopback address of its own, at the PCP port the client sends to.
 */
async function fakePcpGateway(
  externalIp: string,
): Promise<{ ip: string; requests: number; distinctRequests: Set<string>; close(): void }> {
  const ip = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const sock: Socket = createSocket('udp4');
  const state = { ip, requests: 0, distinctRequests: new Set<string>(), close: () => sock.close() };
  sock.on('message', (req, from) => {
    if (req.length !== PCP_MAP_LEN || req[0] !== 2 || req[1] !== 1) return;
    state.requests++;
    state.distinctRequests.add(req.toString('hex'));
    const res = Buffer.from(req);
    res[1] = 0x80 | 1; // a MAP response
    res[3] = 0; // success
    res.fill(0, 8, 24); // epoch 0, reserved
    res.writeUInt16BE(MAPPED_PORT, 42);
    res.fill(0, 44, 54);
    res[54] = 0xff;
    res[55] = 0xff;
    res.writeUInt32BE(parseIpv4(externalIp) >>> 0, 56);
    sock.send(res, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(PCP_PORT, ip, () => resolve());
  });
  return state;
}

test('a node with port mapping on reports the mapped address to its lighthouse once the mapping is where it is seen', async (t) => {
  const clock = new ManualClock(1_000_000);
  // Made first, so that its nodes are stopped (and their mapping deleted) before the gateway closes.
  const mesh = new TestMesh(t, { clock });
  const seenIp = underlayOf(A).address;
  const gateway = await fakePcpGateway(seenIp);
  t.after(() => gateway.close());
  const lh = await mesh.node({
    vpnIp: L,
    name: 'lighthouse',
    tun: null,
    config: { lighthouse: { am_lighthouse: true } },
  });
  const a = await mesh.node({
    vpnIp: A,
    name: 'a',
    peers: [L],
    config: { lighthouse: { hosts: [L], interval: 60 }, portmap: { enabled: true } },
    setup: { portmapGateway: async () => gateway.ip },
  });
  const server = lh.node.lighthouseServer!;
  const reported = (): string[] => server.reportedOf(parseVpnIp(A)).map(addrKey);
  const mapped = `${seenIp}:${MAPPED_PORT}`;

  // The lighthouse tunnel comes up and the lighthouse says where it sees a, before the mapper starts.
  await advanceUntil(clock, () => a.node.lighthouseClient?.selfNatView().length, {
    what: () => `a told where the lighthouse sees it\n${a.logs.join('\n')}`,
  });
  assert.equal(a.node.portMapReport(), null, 'the mapper waits PORTMAP_START_DELAY_MS');
  assert.ok(reported().length > 0 && !reported().includes(mapped), reported().join(' '));
  const updates = lh.node.counters.get('lighthouse', 'update') ?? 0;

  await advanceFor(clock, PORTMAP_START_DELAY_MS);
  // The mapper loads its protocols and asks the gateway on real sockets; the update then follows at once, not at
  // the next lighthouse interval (60 s away on a clock that no longer moves).
  await waitFor(() => reported().includes(mapped), {
    timeoutMs: 5000,
    what: () =>
      `the mapped address at the lighthouse: ${reported().join(' ')}; ${JSON.stringify(a.node.portMapReport())}\n${a.logs.join('\n')}`,
  });
  // A retry (the answer not read within the exchange's 250 ms of real time, on a loaded machine) resends the same
  // bytes: it is the same request.
  assert.equal(gateway.distinctRequests.size, 1, `one MAP request (${gateway.requests} sent with its retries)`);
  assert.ok((lh.node.counters.get('lighthouse', 'update') ?? 0) > updates);
  const report = a.node.portMapReport();
  assert.equal(report?.advertised, true);
  assert.equal(report?.mapping?.externalPort, MAPPED_PORT);
});
