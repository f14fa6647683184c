// The connection manager (docs/state-machines.md, "Liveness"): a tunnel we sent on must hear back. After
// `aliveIntervalMs` with nothing received we send a test request; after `pendingDeletionIntervalMs` more of silence the
// tunnel is dropped locally (no close is sent: the peer is presumably gone). Tunnels that carry nothing are never
// checked.

import { MessageType } from '../header/header.js';
import { formatIpv4 } from '../ip/ipv4.js';
import type { DataPathContext } from './context.js';
import { sendOnTunnel } from './tunnel-sender.js';

export function checkLiveness(ctx: DataPathContext): void {
  const now = ctx.clock.now();
  for (const host of [...ctx.hostmap.byVpnIp.values()]) {
    if (host.checkAt === 0 || now < host.checkAt) continue;
    if (host.lastRecvAt > host.recvAtCheckScheduled) {
      host.checkAt = 0;
      host.pendingDeletion = false;
      continue;
    }
    if (!host.pendingDeletion) {
      host.pendingDeletion = true;
      host.checkAt = now + ctx.timers.pendingDeletionIntervalMs;
      sendOnTunnel(ctx, host, MessageType.Test, 0, new Uint8Array(0));
      continue;
    }
    ctx.log.info('Tunnel status dead, removing', { vpnIp: formatIpv4(host.vpnIp), certName: host.certName });
    ctx.counters.inc('tunnels-dead');
    ctx.closeTunnel(host, 'dead', false);
  }
}
