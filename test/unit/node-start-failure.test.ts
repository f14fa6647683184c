import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import { freeUdpAndTcpPort } from './helpers/free-port.js';
import { TestMesh } from './helpers/mesh.js';

// A start that fails after the socket (here: the lighthouse's second port is taken) stops what it opened so far: the
// TCP listener must not stay bound and keep an embedding process alive.

test('a lighthouse whose second port cannot open fails to start and leaves no TCP listener behind', async (t) => {
  const mesh = new TestMesh(t);
  // Free for UDP too: the node binds its UDP socket there first, and must fail only at the second port.
  const port = await freeUdpAndTcpPort();

  await assert.rejects(
    mesh.node({
      vpnIp: '10.99.0.1',
      name: 'lh',
      udp: 'kernel',
      config: { listen: { host: '127.0.0.1', port }, lighthouse: { am_lighthouse: true } },
      setup: { tcp: true, secondPort: true, openSecondPort: () => Promise.reject(new Error('second port taken')) },
    }),
    /second port taken/,
  );
  // The TCP port (the UDP port's number) is free again.
  const again = createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => again.close(() => resolve()));
});
