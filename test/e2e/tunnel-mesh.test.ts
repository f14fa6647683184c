import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { readUdpDatagrams } from './lab/pcap.js';
import { startTcpdump } from './lab/tcpdump.js';
import { sleep, waitFor } from './lab/wait.js';

// Two real mesh processes in network namespaces, with real TUN devices, on a flat underlay.

async function twoMeshNodes(t: { after(fn: () => unknown): void }, cipher: 'aes' | 'chachapoly' = 'aes') {
  const lab = await Lab.create(t);
  const [h1, h2] = await lab.flat(2);
  const net = await OverlayNet.create(lab, { cipher });
  const vpn1 = '10.99.0.1';
  const vpn2 = '10.99.0.2';
  const n1 = await net.start(h1!, {
    name: 'one',
    impl: meshImpl,
    config: { static_host_map: { [vpn2]: [`${h2!.ip}:4242`] } },
  });
  const n2 = await net.start(h2!, {
    name: 'two',
    impl: meshImpl,
    config: { static_host_map: { [vpn1]: [`${h1!.ip}:4242`] } },
  });
  return { lab, h1: h1!, h2: h2!, n1, n2, vpn1, vpn2 };
}

test('two mesh hosts ping each other over the overlay in both directions', async (t) => {
  const { lab, h1, h2, vpn1, vpn2 } = await twoMeshNodes(t);
  const ab = await lab.ping(h1, vpn2, { count: 5, timeoutSec: 5 });
  const ba = await lab.ping(h2, vpn1, { count: 5, timeoutSec: 5 });
  assert.equal(ab.rttMs.length, 5, `one -> two: ${JSON.stringify(ab)}\n${lab.logTails()}`);
  assert.equal(ba.rttMs.length, 5, `two -> one: ${JSON.stringify(ba)}\n${lab.logTails()}`);
  t.diagnostic(`rtt one->two ${ab.rttMs.join('/')} ms`);
});

test('garbage and replayed datagrams leave the tunnel working and deliver nothing twice', async (t) => {
  const { lab, h1, h2, n2, vpn2 } = await twoMeshNodes(t, 'chachapoly');
  const warm = await lab.ping(h1, vpn2, { count: 1, timeoutSec: 5 });
  assert.ok(warm.ok, lab.logTails());

  // Capture real tunnel datagrams arriving at two, and every ICMP echo request two's TUN hands to its kernel.
  const pcap = lab.path('two-udp.pcap');
  const udpCapture = await startTcpdump(lab, h2, [
    '-i',
    'any',
    '--immediate-mode',
    '-U',
    '-n',
    '-w',
    pcap,
    'udp',
    'dst',
    'port',
    '4242',
  ]);
  const tunCapture = await startTcpdump(lab, h2, [
    '-i',
    'any',
    '--immediate-mode',
    '-l',
    '-n',
    'icmp[icmptype] == icmp-echo and dst host',
    vpn2,
  ]);
  const pings = await lab.ping(h1, vpn2, { count: 5, timeoutSec: 5 });
  assert.equal(pings.rttMs.length, 5);
  // The 5 requests arrived (they were answered); tcpdump writes each to the file as it reads it (-U).
  const tunnelDatagrams = () => readUdpDatagrams(pcap).filter((d) => d.payload.length > 16);
  await waitFor(() => tunnelDatagrams().length >= 5, {
    timeoutMs: 5000,
    what: () => `5 tunnel datagrams in the capture (have ${tunnelDatagrams().length})`,
  });
  await udpCapture.kill();
  const captured = tunnelDatagrams();

  // Replay every captured datagram (from a fresh source port too), then throw garbage of every shape at it.
  const script = `
    const dgram = require('node:dgram');
    const [target, port, payloads] = JSON.parse(process.argv[1]);
    const s = dgram.createSocket('udp4');
    const garbage = [Buffer.alloc(0), Buffer.from([1]), Buffer.alloc(15, 7), Buffer.alloc(16, 0xff), Buffer.alloc(100, 0x11)];
    for (let i = 0; i < 200; i++) { const b = Buffer.alloc(1 + (i * 37) % 1500); for (let j = 0; j < b.length; j++) b[j] = (i * 131 + j * 7) & 255; garbage.push(b); }
    const all = [...payloads.map((p) => Buffer.from(p, 'base64')), ...garbage];
    let i = 0;
    const next = () => { if (i >= all.length) return s.close(); s.send(all[i++], port, target, next); };
    next();
  `;
  await lab.exec(h1, process.execPath, [
    '-e',
    script,
    JSON.stringify([h2.ip, 4242, captured.map((d) => d.payload.toString('base64'))]),
  ]);
  await sleep(500);
  await tunCapture.kill();
  const echoRequests = tunCapture
    .log()
    .split('\n')
    .filter((l) => /ICMP echo request/.test(l)).length;
  // tcpdump on "any" sees each request once on the TUN (the underlay carries it encrypted as UDP, not ICMP).
  assert.equal(echoRequests, 5, `expected the 5 pings exactly once, saw ${echoRequests}:\n${tunCapture.log()}`);
  assert.ok(n2.process.running, 'mesh survived the garbage');
  const after = await lab.ping(h1, vpn2, { count: 3, timeoutSec: 5 });
  assert.equal(after.rttMs.length, 3, `tunnel still works: ${JSON.stringify(after)}\n${lab.logTails()}`);
});

test('a mesh host that restarts is reached again without waiting for the old tunnel to die', async (t) => {
  const { lab, h1, vpn2, n2 } = await twoMeshNodes(t);
  assert.ok((await lab.ping(h1, vpn2, { count: 1, timeoutSec: 5 })).ok);
  await n2.restart();
  const back = await waitFor(
    async () => {
      const r = await lab.ping(h1, vpn2, { count: 1, timeoutSec: 1 });
      return r.ok ? r : null;
    },
    { timeoutMs: 10_000, intervalMs: 0, what: 'ping after the peer restarted' },
  );
  assert.ok(back.ok);
});

void dgram;
