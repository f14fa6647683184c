// A lone packet's way out (issue 19: the per-crossing JavaScript of a lone packet): a TUN read's data packets are
// sealed when the read ends rather than from a microtask after it (SealBatch hold/release, InsidePath
// beginTunRead/endTunRead), and the sealed datagrams reach the socket's kernel side (UdpConn.flush) before the
// tunnels' statistics and the path-health detector hear of them (pkg/datapath/seal-batch.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SealBatch, type SealOutcomes } from '../../pkg/datapath/seal-batch.js';
import { MessageSubType, MessageType } from '../../pkg/header/header.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import type { UdpConn } from '../../pkg/udp/udp-conn.js';
import { connectedPair } from './helpers/mesh.js';
import { headerOf, udpPacket, udpPayloadText } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

const A = '10.99.0.1';
const B = '10.99.0.2';

/** A socket that only writes down what happens to it, in order, into `log`. */
class LoggingConn implements UdpConn {
  readonly localPort = 4242;
  readonly sent: Uint8Array[] = [];
  constructor(private readonly log: string[]) {}
  onPacket(): void {}
  send(packet: Uint8Array): void {
    this.sent.push(Uint8Array.from(packet));
    this.log.push('send');
  }
  flush(): void {
    this.log.push('flush');
  }
  async close(): Promise<void> {}
}

/** What the batch reports, into the same log. */
function loggingOutcomes(log: string[]): SealOutcomes {
  return {
    sent: (_host: HostInfo, count: number) => void log.push(`sent ${count}`),
    dropped: (reason: string) => void log.push(`dropped ${reason}`),
  };
}

/** Lets every queued microtask (a turn-end flush among them) run. */
function turnEnds(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const TO: UdpAddr = udpAddr('192.0.2.9', 4242);

test("a TUN read's data packets are sealed and handed to the socket when the read ends, before the turn's end", async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const sent = a.memUdp!.sent;
  const mark = sent.length;
  const before = b.tun.written.length;
  const payloads = ['r1', 'r2', 'r3'];
  a.tun.injectBatch(payloads.map((s) => udpPacket({ src: A, dst: B, payload: s })));
  // No await: nothing but the read itself has run.
  assert.equal(sent.length, mark + payloads.length, 'sent within the read, not from a microtask after it');
  const counters = sent.slice(mark).map((s) => headerOf(s.packet).counter);
  assert.deepEqual(
    counters,
    [...counters].sort((x, y) => x - y),
    'counters in order',
  );
  assert.equal(ab.packetsOut >= payloads.length, true, 'counted as sent');
  await waitFor(() => b.tun.written.length >= before + payloads.length, { what: 'b got them' });
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), payloads);

  // Outside a read (a handshake's queued packet, a reply the node makes itself) the turn's end still seals.
  const mark2 = sent.length;
  a.node.pipelines.inside
    .sealBatch()
    .add(ab, a.memUdp!, ab.remote!, MessageType.Message, MessageSubType.None, udpPacket({ src: A, dst: B }), false);
  assert.equal(sent.length, mark2, 'waits for the turn to end');
  await turnEnds();
  assert.equal(sent.length, mark2 + 1, 'sealed at the end of the turn');
});

test('sealed datagrams go to the kernel (the socket flushed) before the batch reports them sent', async (t) => {
  const { ab } = await connectedPair(t);
  const log: string[] = [];
  const conn = new LoggingConn(log);
  const other = new LoggingConn(log);
  const batch = new SealBatch(loggingOutcomes(log));
  const data = udpPacket({ src: A, dst: B, payload: 'x' });
  batch.add(ab, conn, TO, MessageType.Message, MessageSubType.None, data, false);
  batch.add(ab, conn, TO, MessageType.Message, MessageSubType.None, data, false);
  batch.add(ab, other, TO, MessageType.Message, MessageSubType.None, data, false);
  batch.flush();
  // Each socket's run is flushed when the next socket's starts, the last one before anything is reported.
  assert.deepEqual(log, ['send', 'send', 'flush', 'send', 'flush', 'sent 3']);
  assert.equal(conn.sent.length + other.sent.length, 3);
});

test('a held batch queues no flush for the turn end: what is added waits for release, then leaves in one flush', async (t) => {
  const { ab } = await connectedPair(t);
  const log: string[] = [];
  const conn = new LoggingConn(log);
  const batch = new SealBatch(loggingOutcomes(log));
  const data = udpPacket({ src: A, dst: B, payload: 'held' });
  batch.hold();
  batch.add(ab, conn, TO, MessageType.Message, MessageSubType.None, data, false);
  batch.add(ab, conn, TO, MessageType.Message, MessageSubType.None, data, false);
  await turnEnds();
  assert.deepEqual(log, [], 'nothing sealed while held, whatever turns end');
  assert.equal(batch.pending, 2);
  batch.release();
  assert.deepEqual(log, ['send', 'send', 'flush', 'sent 2']);
  assert.equal(batch.pending, 0);

  // Released, the batch is back to flushing at the turn's end.
  batch.add(ab, conn, TO, MessageType.Message, MessageSubType.None, data, false);
  assert.equal(log.length, 4);
  await turnEnds();
  assert.deepEqual(log.slice(4), ['send', 'flush', 'sent 1']);
});
