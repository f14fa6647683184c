// The connection manager (docs/state-machines.md, "Liveness"): a tunnel we sent on must hear back. Sending schedules
// a check `aliveIntervalMs` later; it passes when anything came in since the previous check passed (or since the
// tunnel was made), as Nebula's does, not only since the send: otherwise each side's answer to the other's test
// request scheduled a check that nothing after it would pass, and two nodes traded test requests every interval for
// as long as the tunnel lived (a lighthouse sent 4.7x Nebula's). A failed check sends a test request; after
// `pendingDeletionIntervalMs` more of silence the tunnel is dropped locally (no close is sent: the peer is presumably
// gone). Tunnels that carry nothing are never checked.

import { MessageType, TestSubType } from '../header/header.js';
import type { DataPathContext } from './context.js';
import { sendOnTunnel } from './tunnel-sender.js';
import { formatVpnIp } from '../ip/vpn-ip.js';
import type { HostInfo } from '../hostmap/hostinfo.js';

export function checkLiveness(ctx: DataPathContext): void {
  const now = ctx.clock.now();
  const byPrimary = ctx.hostmap.byPrimary;
  // Only the tunnels whose check is due (liveness-wheel.ts), not all of them every second; the dead, which closing
  // removes from the map, are set aside and closed after the walk.
  const dead: HostInfo[] = [];
  try {
    ctx.pipelines.liveness.takeDue(now, (host) => {
      // A tunnel closed or replaced since its check was scheduled. Cleared, so that a candidate promoted later (it
      // was sent on before) is filed again by its next send rather than never checked.
      if (byPrimary.get(host.vpnIp) !== host) {
        host.checkAt = 0;
        return;
      }
      // A count, not a time: a packet in the same clock tick as the creation or the last check counts too.
      if (host.packetsIn > host.packetsInAtCheck) {
        host.checkAt = 0;
        host.pendingDeletion = false;
        host.packetsInAtCheck = host.packetsIn;
        return;
      }
      if (!host.pendingDeletion) {
        host.pendingDeletion = true;
        host.checkAt = now + ctx.timers.pendingDeletionIntervalMs;
        ctx.pipelines.liveness.schedule(host);
        sendOnTunnel(ctx, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
        return;
      }
      dead.push(host);
    });
  } finally {
    // The dead found before a visit threw (a test request's send failed) are closed all the same: taken out of the
    // wheel, they would not come round again.
    for (const host of dead) {
      ctx.log.info('Tunnel status dead, removing', { vpnIp: formatVpnIp(host.vpnIp), certName: host.certName });
      ctx.counters.inc('tunnels-dead');
      ctx.closeTunnel(host, 'dead', false);
    }
  }
}
