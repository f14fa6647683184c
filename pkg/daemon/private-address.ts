// Go's net.IP.IsPrivate, which Nebula uses for `listen.send_recv_error: private`: RFC 1918 and RFC 4193.

import { isIPv4 } from 'node:net';
import { parseIpv4 } from '../ip/ipv4.js';

export function isPrivateAddress(address: string): boolean {
  if (isIPv4(address)) {
    const ip = parseIpv4(address);
    return ip >>> 24 === 10 || ip >>> 20 === 0xac1 || ip >>> 16 === 0xc0a8;
  }
  return /^f[cd]/i.test(address);
}
