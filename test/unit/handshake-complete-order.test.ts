import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Logger } from '../../pkg/log/logger.js';
import { connect, TestMesh, type TestNode } from './helpers/mesh.js';

// An initiator's finished handshake sends what waited for the tunnel before it logs "Handshake completed": the line's
// formatting is on the path of the packet that started the contact (pkg/handshake/manager.ts, complete).

/** Data packets (Nebula header: version 1, type message) `n` has handed its socket so far. */
function dataSent(n: TestNode): number {
  return n.memUdp!.sent.filter((s) => s.packet[0] === 0x11 && s.packet[1] === 0).length;
}

test("the initiator's queued packet is on the wire when 'Handshake completed' is logged", async (t) => {
  const mesh = new TestMesh(t);
  const seen: number[] = [];
  let a: TestNode | null = null;
  const log = new Logger(
    'info',
    'text',
    (line) => {
      if (a !== null && line.includes('Handshake completed (initiator)')) seen.push(dataSent(a));
    },
    true,
  );
  a = await mesh.node({ vpnIp: '10.99.0.1', name: 'a', peers: ['10.99.0.2'], log });
  const b = await mesh.node({ vpnIp: '10.99.0.2', name: 'b', peers: ['10.99.0.1'] });
  await connect(a, b);
  assert.deepEqual(seen, [1], 'one completion, its queued packet already sent');
});
