// Fuzzing a real daemon's UDP port: the shipped executable (dist/bin/mesh.cjs; run `make build` first) runs as a
// lighthouse and relay with tun.disabled on 127.0.0.1. An in-process node on a kernel socket handshakes with it,
// and its datagrams (stage 1, data, test, lighthouse) are captured. Then thousands of random and mutated datagrams
// go to the daemon from another loopback socket. Afterwards the process is alive, logged no exception on an
// outside packet, sent the fuzzing socket no more bytes than it received from it, still answers the first node's
// test request on the old tunnel, and completes a fresh handshake with a new node.
//
// Only loopback traffic: nothing leaves the machine, and no namespace is needed.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { sendOnTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType } from '../../pkg/header/header.js';
import { encodeMeta, MetaType } from '../../pkg/lighthouse/meta.js';
import { mutateDatagram, randomBytes, runFuzzAsync } from '../unit/helpers/fuzz.js';
import { TestMesh, type TestNode } from '../unit/helpers/mesh.js';
import { udpPacket } from '../unit/helpers/packets.js';
import { sleep, waitFor } from '../unit/helpers/wait.js';
import { alive, exceptionLines, fuzzPeer, startFuzzTarget } from './lab/fuzz-target.js';

const D = '10.99.0.1';
const A = '10.99.0.2';
const B = '10.99.0.3';

test('a running daemon fed thousands of random and mutated datagrams stays up, never amplifies and still handshakes', async (t) => {
  const mesh = new TestMesh(t);
  const { daemon, port, logs, tail } = await startFuzzTarget(t, mesh, D, 'Mesh node started');

  // A real peer on a kernel socket; what it sends the daemon becomes the fuzzer's seeds.
  const captured: Uint8Array[] = [];
  const peer = (vpnIp: string, name: string): Promise<TestNode> =>
    fuzzPeer(mesh, { vpnIp, name, targetVpnIp: D, targetAt: `127.0.0.1:${port}`, captured });
  const a = await peer(A, 'a');
  a.tun.inject(udpPacket({ src: A, dst: D, payload: 'hello daemon' }));
  await waitFor(() => a.tunnelTo(D), {
    timeoutMs: 5000,
    what: () => `a's tunnel to the daemon\n${a.logs.join('\n')}\n${tail()}`,
  });
  const ad = a.tunnelTo(D)!;
  sendOnTunnel(a.node, ad, MessageType.Test, 0, new Uint8Array([1, 2, 3]));
  sendOnTunnel(
    a.node,
    ad,
    MessageType.LightHouse,
    0,
    encodeMeta({ type: MetaType.HostQuery, vpnIp: 0x0a630003, addrs: [], relays: [] }),
  );
  await waitFor(() => captured.length >= 3, {
    timeoutMs: 3000,
    what: () => `3 datagrams captured (have ${captured.length})`,
  });

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
        const env =
          (e as NodeJS.ErrnoException).code === 'ENOBUFS'
            ? ' (the environment ran out of socket buffers, not a daemon fault)'
            : '';
        reject(new Error(`sending datagram ${sent}: ${e.message}${env}`));
      }),
    );

  // Bursts of 100 with a short pause, so the loopback socket buffers never overflow.
  const stats = await runFuzzAsync(
    'daemon-udp',
    { iterations: 100, minIterations: 20, ms: 4000, seed: 0xdae },
    async (r) => {
      for (let k = 0; k < 100; k++) {
        const b = r.chance(0.15) ? randomBytes(r, 200) : mutateDatagram(r, r.pick(captured), captured);
        await send(b);
        sent++;
        bytesOut += b.length;
      }
      await sleep(5);
    },
  );
  await sleep(200);
  t.diagnostic(
    `${sent} datagrams (${bytesOut} B) in ${stats.ms.toFixed(0)} ms; ${repliesIn} replies (${bytesIn} B) back`,
  );
  assert.ok(sent >= 2000, `only ${sent} datagrams sent`);

  assert.ok(alive(daemon), `the daemon died:\n${tail()}`);
  assert.deepEqual(exceptionLines(logs), [], 'no exception on outside input');
  assert.ok(bytesIn <= bytesOut, `the daemon sent ${bytesIn} bytes to a socket that sent it ${bytesOut}`);

  // The old tunnel still answers, and a new peer completes a fresh handshake.
  const answeredBefore = ad.packetsIn;
  sendOnTunnel(a.node, ad, MessageType.Test, 0, new Uint8Array([9]));
  await waitFor(() => ad.packetsIn > answeredBefore, {
    timeoutMs: 3000,
    what: () => `a test reply on the old tunnel\n${tail()}`,
  });
  const b = await peer(B, 'b');
  b.tun.inject(udpPacket({ src: B, dst: D, payload: 'new peer' }));
  await waitFor(() => b.tunnelTo(D), {
    timeoutMs: 5000,
    what: () => `a fresh handshake\n${b.logs.join('\n')}\n${tail()}`,
  });
  assert.ok(alive(daemon));
});
