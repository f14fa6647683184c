// A port number for a node that binds UDP and TCP on the same number (its TCP listener, docs/tcp-fallback.md): one
// free for both protocols. A number found free for one protocol alone can be held in the other by any process on
// the machine (an ephemeral port is one range for both), and the node then fails to start for a reason that is not
// the test's. The number is free when this returns; like any free-port probe, nothing holds it after that.

import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const TRIES = 20;

export async function freeUdpAndTcpPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < TRIES; i++) {
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, host, resolve);
    });
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, host, () => resolve(true));
    });
    if (udpFree) await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (udpFree) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${host} in ${TRIES} tries`);
}
