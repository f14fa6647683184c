import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TcpUnderlay } from '../../pkg/tcp/underlay.js';
import type { UdpAddr } from '../../pkg/udp/addr.js';
import type { UdpConn } from '../../pkg/udp/udp-conn.js';

// TcpUnderlay (pkg/tcp/underlay.ts) passes on the UDP connection's batch ends and reports each frame over TCP as a
// batch of one, after the frame's listeners: the young-generation ceiling counts a lighthouse's datagrams by them
// (pkg/daemon/young-generation-ceiling.ts), whichever way they came.

function fakeUdp(): UdpConn & { packet(p: Buffer, from: UdpAddr): void; batchEnd(count: number): void } {
  const packets: Array<(p: Buffer, from: UdpAddr) => void> = [];
  const ends: Array<(count: number) => void> = [];
  return {
    localPort: 4242,
    onPacket: (cb) => packets.push(cb),
    onBatchEnd: (cb) => ends.push(cb),
    send() {},
    close: async () => {},
    packet: (p, from) => packets.forEach((cb) => cb(p, from)),
    batchEnd: (count) => ends.forEach((cb) => cb(count)),
  };
}

test('batch ends: UDP batches pass through with their count, each TCP frame is one, after its listeners', () => {
  const udp = fakeUdp();
  const underlay = new TcpUnderlay(udp);
  const events: string[] = [];
  underlay.onPacket((p, _from, overTcp) => events.push(`${overTcp ? 'tcp' : 'udp'} ${p[0]}`));
  underlay.onBatchEnd((count) => events.push(`end ${count}`));
  const from = { address: '192.0.2.1', port: 4242 };
  udp.packet(Buffer.of(1), from);
  udp.packet(Buffer.of(2), from);
  udp.batchEnd(2);
  underlay.deliver(Buffer.of(3), from, true);
  assert.deepEqual(events, ['udp 1', 'udp 2', 'end 2', 'tcp 3', 'end 1']);
});
