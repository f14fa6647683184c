// punchy.target_all_remotes (Nebula 1.7+): keepalive punches go to every known address of a peer, not only the
// one its tunnel uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import type { HostMap } from '../../pkg/hostmap/hostmap.js';
import { KEEPALIVE_BYTE, punchAll } from '../../pkg/punchy/punchy.js';
import { addrKey, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import type { UdpConn } from '../../pkg/udp/udp-conn.js';

function world() {
  const inUse = udpAddr('198.51.100.2', 4242);
  const other = udpAddr('192.168.1.2', 4242);
  const host = { vpnIp: 1, remote: inUse, conn: undefined } as unknown as HostInfo;
  const hostmap = { byPrimary: new Map([[1, host]]) } as unknown as HostMap;
  const sent: string[] = [];
  const udp = {
    send: (p: Uint8Array, to: UdpAddr) => {
      assert.deepEqual([...p], [...KEEPALIVE_BYTE]);
      sent.push(addrKey(to));
    },
  } as unknown as UdpConn;
  return { hostmap, udp, sent, inUse, other };
}

test('without target_all_remotes only the address in use is punched', () => {
  const { hostmap, udp, sent } = world();
  assert.equal(punchAll(hostmap, udp), 1);
  assert.deepEqual(sent, ['198.51.100.2:4242']);
});

test('with target_all_remotes every known address is punched once, the one in use included once', () => {
  const { hostmap, udp, sent, inUse, other } = world();
  assert.equal(
    punchAll(hostmap, udp, () => [inUse, other]),
    2,
  );
  assert.deepEqual(sent, ['198.51.100.2:4242', '192.168.1.2:4242']);
});
