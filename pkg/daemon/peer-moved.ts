// A mesh lighthouse pushed new addresses for a peer (lighthouse/server.ts). A direct tunnel whose address is not
// among them has lost its path: the peer moved (then an authenticated test request reaching it at a new address
// makes it roam there, and its reply moves us) or restarted elsewhere (then only a new handshake helps). Both go
// out at once; whichever the peer answers first wins, and the tunnel carries traffic until then.

import { MessageType, TestSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { DataPathContext } from '../datapath/context.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { sameAddr, type UdpAddr } from '../udp/addr.js';

/** Test requests per push: the lighthouse lists the address it sees first, so the first few are the likely ones. */
export const MOVED_PROBE_LIMIT = 4;

export function peerMoved(ctx: DataPathContext, host: HostInfo, addrs: readonly UdpAddr[]): void {
  const remote = host.remote;
  // A relayed tunnel is handled as any lighthouse answer is (path-finder probes a direct path).
  if (remote === null || addrs.length === 0 || addrs.some((a) => sameAddr(a, remote))) return;
  ctx.counters.inc('lighthouse', 'push-moved-peer');
  for (const a of addrs.slice(0, MOVED_PROBE_LIMIT))
    sendOnTunnel(ctx, host, MessageType.Test, TestSubType.Request, new Uint8Array(0), a);
  ctx.handshakes.replaceUnlessAnswered(host);
}
