// A received batch's bounds (UdpConn.onReceiveBatch): BatchConn reports where each batch of datagrams starts and
// ends, and the node's outside path (pkg/datapath/outside-path.ts) holds its open and TUN batches in between, so a
// batch's data packets are opened and written when it ends instead of from a microtask at the turn's end.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { handleUdpPacket } from '../../pkg/datapath/outside.js';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { MessageType, TestSubType } from '../../pkg/header/header.js';
import { BatchConn } from '../../pkg/udp/batch-conn.js';
import { connectedPair } from './helpers/mesh.js';
import { udpPacket, udpPayloadText } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

const built = existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)));
const skip = built ? false : 'the addon is not built (npx node-gyp rebuild)';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test(
  "BatchConn reports each received batch's start before its first datagram and its end after its last",
  { skip },
  async (t) => {
    const a = await BatchConn.open({ host: '127.0.0.1', port: 0 });
    const b = await BatchConn.open({ host: '127.0.0.1', port: 0 });
    t.after(() => Promise.all([a.close(), b.close()]));
    const events: string[] = [];
    b.onReceiveBatch({
      receiveBatchStarts: () => events.push('['),
      receiveBatchEnds: () => events.push(']'),
    });
    b.onPacket((p) => events.push(p.toString()));
    const to = { address: '127.0.0.1', port: b.localPort };
    for (const s of ['1', '2', '3']) a.send(Buffer.from(s), to);
    await waitFor(
      () => events.filter((e) => e.length === 1 && e !== '[' && e !== ']').length === 3 && events.at(-1) === ']',
      {
        what: 'three datagrams and the end of their batch',
      },
    );
    // However the kernel split them into batches: bounds alternate and enclose every datagram, in order.
    let open = false;
    const datagrams: string[] = [];
    for (const e of events) {
      if (e === '[' || e === ']') {
        assert.equal(open, e === ']', e === '[' ? 'a start inside a batch' : 'an end outside a batch');
        open = e === '[';
      } else {
        assert.ok(open, `datagram ${e} outside a batch`);
        datagrams.push(e);
      }
    }
    assert.deepEqual(datagrams, ['1', '2', '3']);
  },
);

test('inside a received batch, data packets are opened and written when it ends, not at the turn end', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const outside = b.node.pipelines.outside;
  const before = b.tun.written.length;
  const seal = (s: string): Buffer =>
    sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: a.vpnIpText, dst: b.vpnIpText, payload: s }));
  outside.receiveBatchStarts();
  handleUdpPacket(b.node, seal('one'), a.addr);
  handleUdpPacket(b.node, seal('two'), a.addr);
  await turn();
  await turn();
  assert.equal(b.tun.written.length, before, 'held until the batch ends');
  outside.receiveBatchEnds();
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), ['one', 'two'], 'written at the end, at once');

  // Outside a batch (a socket without bounds), the turn's end still does it.
  handleUdpPacket(b.node, seal('three'), a.addr);
  assert.equal(b.tun.written.length, before + 2);
  await waitFor(() => b.tun.written.length === before + 3, { what: 'the packet outside a batch' });
});

test('an open batch completed mid-batch (a control packet) leaves its TUN packets for the one write at the end', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const outside = b.node.pipelines.outside;
  const writes: string[][] = [];
  const tun = b.tun;
  const writeBatch = tun.writeBatch.bind(tun);
  tun.writeBatch = (packets) => {
    writes.push(packets.map(udpPayloadText));
    return writeBatch(packets);
  };
  const data = (s: string): Buffer =>
    sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: a.vpnIpText, dst: b.vpnIpText, payload: s }));
  const testRequest = sealForTunnel(ab, MessageType.Test, TestSubType.Request, new Uint8Array(0));
  const packetsIn = b.tunnelTo(a)!.packetsIn;
  outside.receiveBatchStarts();
  handleUdpPacket(b.node, data('one'), a.addr);
  handleUdpPacket(b.node, testRequest, a.addr);
  assert.equal(b.tunnelTo(a)!.packetsIn, packetsIn + 2, 'the data before the control packet was opened first');
  handleUdpPacket(b.node, data('two'), a.addr);
  assert.deepEqual(writes, [], 'nothing written before the batch ends');
  outside.receiveBatchEnds();
  assert.deepEqual(writes, [['one', 'two']]);
});
