// Sender addresses as a socket reports them. A dual-stack socket spells an IPv4 sender ::ffff:a.b.c.d; it is
// folded to the IPv4 address, as every address entering the node is (docs/security-model.md). Only that spelling is
// checked per datagram: the full fold of every other spelling is for lighthouse messages and the config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { socketAddr, udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { DgramConn } from '../../pkg/udp/udp-conn.js';
import { waitFor } from './helpers/wait.js';

test('a dual-stack socket reports an IPv4 sender as its IPv4 address and an IPv6 sender unchanged', async (t) => {
  const conn = await DgramConn.open({ host: '::', port: 0 });
  t.after(() => conn.close());
  const seen: UdpAddr[] = [];
  conn.onPacket((_packet, from) => seen.push(from));
  for (const [type, host] of [
    ['udp4', '127.0.0.1'],
    ['udp6', '::1'],
  ] as const) {
    const sender = dgram.createSocket(type);
    t.after(() => sender.close());
    await new Promise<void>((resolve) => sender.bind(0, host, resolve));
    sender.send(Uint8Array.of(1), conn.localPort, host);
    await waitFor(() => seen.some((a) => a.port === sender.address().port), {
      timeoutMs: 2000,
      what: `a datagram from ${host}`,
    });
  }
  assert.deepEqual(
    seen.map((a) => a.address),
    ['127.0.0.1', '::1'],
  );
});

test('socketAddr folds the socket spelling of a mapped address; udpAddr folds every spelling', () => {
  assert.deepEqual(socketAddr('::ffff:198.51.100.10', 4242), { address: '198.51.100.10', port: 4242 });
  assert.deepEqual(socketAddr('2001:db8::ffff', 1), { address: '2001:db8::ffff', port: 1 });
  assert.deepEqual(socketAddr('198.51.100.10', 1), { address: '198.51.100.10', port: 1 });
  for (const spelling of ['::ffff:c633:640a', '::ffff:198.51.100.10', '0:0:0:0:0:FFFF:C633:640A']) {
    assert.deepEqual(udpAddr(spelling, 4242), { address: '198.51.100.10', port: 4242 }, spelling);
  }
});
