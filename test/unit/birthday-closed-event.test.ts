// Birthday punching's part of the tunnel closed event (pkg/hostmap/hostmap.ts, docs/state-machines.md): a closed tunnel
// closes the socket it was moved onto; a tunnel replaced by a newer handshake keeps it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Birthday } from '../../pkg/daemon/birthday.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import type { UdpConn } from '../../pkg/udp/udp-conn.js';

function tunnel(hostmap: HostMap, port: number, conn: UdpConn | null): HostInfo {
  return {
    vpnIp: 3,
    vpnAddrs: [3],
    remote: udpAddr('203.0.113.3', port),
    localIndex: hostmap.allocateIndex(),
    remoteIndex: port,
    conn,
  } as unknown as HostInfo;
}

test('a closed tunnel closes the birthday socket it was moved onto; a replaced one keeps it', () => {
  const hostmap = new HostMap();
  const birthday = new Birthday({
    tunnelEvents: hostmap,
    log: new Logger('error', 'text', () => {}),
    counters: new Counters(),
    clock: new ManualClock(0),
    schedule: () => {},
    sendTest: () => {},
    isCurrent: () => true,
    natViews: null,
    onUdp: () => {},
    stopped: () => false,
  });
  let closed = 0;
  const conn = { close: async () => void closed++ } as unknown as UdpConn;
  const first = tunnel(hostmap, 4000, conn);
  birthday.owned.add(conn);
  hostmap.add(first);
  hostmap.add(tunnel(hostmap, 5000, null)); // replaced by a newer handshake
  assert.equal(closed, 0, 'replaced: socket kept');
  assert.ok(birthday.owned.has(conn));
  hostmap.close(first);
  assert.equal(closed, 1, 'closed: socket closed');
  assert.equal(birthday.owned.has(conn), false);
});
