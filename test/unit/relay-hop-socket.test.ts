// A relay frame leaves from the socket its hop's tunnel uses (daemon/relay-wiring.ts): a tunnel moved onto a birthday
// socket (daemon/birthday.ts) is reachable only through that socket's NAT mapping, so a frame from the listen socket
// would reach the hop from an address its tunnel does not know.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RelayWiring } from '../../pkg/daemon/relay-wiring.js';
import type { MeshNode } from '../../pkg/daemon/node.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import type { UdpConn } from '../../pkg/udp/udp-conn.js';

function recordingConn(): { conn: UdpConn; sent: UdpAddr[] } {
  const sent: UdpAddr[] = [];
  return { conn: { send: (_p: Uint8Array, to: UdpAddr) => void sent.push(to) } as unknown as UdpConn, sent };
}

test('a relay frame goes out on the hop tunnel own socket when it has one, else on the listen socket', () => {
  const listen = recordingConn();
  const birthday = recordingConn();
  const wiring = new RelayWiring({ udp: listen.conn } as unknown as MeshNode);
  const remote = udpAddr('203.0.113.7', 4242);
  const frame = new Uint8Array(32);

  wiring.sendOnHop({ remote, conn: birthday.conn } as unknown as HostInfo, frame);
  assert.deepEqual(birthday.sent, [remote]);
  assert.deepEqual(listen.sent, []);

  wiring.sendOnHop({ remote, conn: null } as unknown as HostInfo, frame);
  assert.deepEqual(listen.sent, [remote]);

  wiring.sendOnHop({ remote: null, conn: null } as unknown as HostInfo, frame);
  assert.equal(listen.sent.length + birthday.sent.length, 2, 'a hop without an address gets nothing');
});
