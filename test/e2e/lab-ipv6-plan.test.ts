import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatVpnIp, parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { randomUlaPrefix } from './lab/overlay-net.js';

// The lab's IPv6 overlay plan (lab/overlay-net.ts): tests compare the addresses the lab hands out with what mesh
// prints and logs, which is RFC 5952 text (pkg/ip/vpn-ip.ts), so the lab's text must already be canonical.

test('lab IPv6 overlay prefixes are ULA /64s in canonical text, different per network', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const cidr = randomUlaPrefix();
    const [net, len] = cidr.split('/');
    assert.equal(len, '64', cidr);
    assert.match(net!, /^fd[0-9a-f]{2}:/, `${cidr} is in fd00::/8`);
    for (const host of [1, 2, 10, 255, 4096]) {
      const ip = `${net}${host.toString(16)}`;
      assert.equal(formatVpnIp(parseVpnIp(ip)), ip, `${ip} is canonical`);
    }
    seen.add(cidr);
  }
  assert.ok(seen.size > 1990, `prefixes repeat: ${seen.size} distinct of 2000`);
});
