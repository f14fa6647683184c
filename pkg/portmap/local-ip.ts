// The local IPv4 address the kernel would send from toward `to` (a connected UDP socket sends nothing).

import { createSocket } from 'node:dgram';

export function localIpToward(to: string, port = 9): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.on('error', (e) => {
      sock.close();
      reject(e);
    });
    sock.connect(port, to, () => {
      const ip = sock.address().address;
      sock.close();
      resolve(ip);
    });
  });
}
