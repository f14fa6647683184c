import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Host, Lab } from '../e2e/lab/lab.js';
import { Lab as LabClass } from '../e2e/lab/lab.js';
import { meshImpl } from '../e2e/lab/mesh-impl.js';
import { OverlayNet, nebulaImpl } from '../e2e/lab/nebula.js';
import type { OverlayImpl } from '../e2e/lab/overlay-node.js';

// Bulk TCP through the tunnel, byte for byte. mesh's TUN runs with TCP offloads (the kernel hands over 64 KB
// TSO packets that mesh cuts into MTU-sized ones; consecutive segments are joined again on the way into the far
// TUN) and its socket sends UDP GSO runs, so this is where a wrong checksum, sequence number or segment boundary
// would show: as a stalled transfer or a different digest. Against nebula 1.6.1 it also proves the cut packets
// are what a plain stack expects.

const BYTES = 24 * 1024 * 1024;
const PORT = 5599;

const SERVER = `
  const net = require('node:net'), crypto = require('node:crypto');
  const h = crypto.createHash('sha256'); let n = 0;
  const s = net.createServer((c) => {
    c.on('data', (d) => { h.update(d); n += d.length; });
    c.on('end', () => { console.log(JSON.stringify({ n, digest: h.digest('hex') })); s.close(); });
  }).listen(${PORT}, () => console.log('listening'));
`;

const CLIENT = `
  const net = require('node:net'), crypto = require('node:crypto');
  const [ip, total] = [process.argv[1], Number(process.argv[2])];
  const h = crypto.createHash('sha256');
  const c = net.connect(${PORT}, ip, () => {
    let left = total;
    const pump = () => {
      while (left > 0) {
        const chunk = crypto.randomBytes(Math.min(256 * 1024, left));
        h.update(chunk); left -= chunk.length;
        if (!c.write(chunk)) return c.once('drain', pump);
      }
      c.end(() => console.log(JSON.stringify({ n: total, digest: h.digest('hex') })));
    };
    pump();
  });
`;

async function transfer(lab: Lab, from: Host, to: Host, toIp: string): Promise<{ sent: string; received: string }> {
  const server = await lab.spawn(to, process.execPath, ['-e', SERVER]);
  try {
    await server.waitForLog(/listening/, 5000);
    const client = await lab.exec(from, process.execPath, ['-e', CLIENT, toIp, String(BYTES)], { timeoutMs: 60_000 });
    const received = await server.waitForLog(/\{"n":\d+,"digest":"[0-9a-f]+"\}/, 30_000);
    return { sent: client.stdout.trim(), received: received[0] };
  } finally {
    await server.kill(500);
  }
}

const pairs: Array<[string, OverlayImpl, OverlayImpl]> = [
  ['mesh and mesh', meshImpl, meshImpl],
  ['mesh and nebula', meshImpl, nebulaImpl],
];

for (const [label, implA, implB] of pairs) {
  test(`${label} move 24 MB of TCP each way through offloaded TUNs with identical digests`, async (t) => {
    const lab = await LabClass.create(t);
    const [h1, h2] = await lab.flat(2);
    const net = await OverlayNet.create(lab);
    const vpnA = '10.99.0.1';
    const vpnB = '10.99.0.2';
    await net.start(h1!, {
      name: 'one',
      vpnIp: vpnA,
      impl: implA,
      config: { static_host_map: { [vpnB]: [`${h2!.ip}:4242`] } },
    });
    await net.start(h2!, {
      name: 'two',
      vpnIp: vpnB,
      impl: implB,
      config: { static_host_map: { [vpnA]: [`${h1!.ip}:4242`] } },
    });
    assert.ok((await lab.ping(h1!, vpnB, { count: 1, timeoutSec: 5 })).ok, lab.logTails());

    const there = await transfer(lab, h1!, h2!, vpnB);
    assert.equal(there.received, there.sent, `one -> two\n${lab.logTails()}`);
    const back = await transfer(lab, h2!, h1!, vpnA);
    assert.equal(back.received, back.sent, `two -> one\n${lab.logTails()}`);
  });
}
