// Packets refused for a reason an operator can act on (no route to the destination, an outbound or inbound
// firewall verdict) are counted in `drops` and, at debug level, logged as Nebula logs them: "dropping outbound
// packet" / "dropping inbound packet" with the peer's overlay IP, the reason and the packet's addresses and ports.
//
// Inbound drops are triggered by peers and outbound ones by any local program, so each direction has its own
// budget (a peer's flood of refused packets cannot hide our own outbound drops) and lines beyond it are counted in
// the next line's `suppressed=` (docs/security-model.md). The budgets are the node's (Pipelines.dropLog), not the
// Logger's: nodes that share a Logger each keep their own. With debug off, nothing is parsed or formatted.

import type { Clock } from '../clock/clock.js';
import { newFirewallPacket, parseIpv4Packet } from '../firewall/packet.js';
import { formatIpv4 } from '../ip/ipv4.js';
import { formatVpnIp, vpnIp6FromBytes, type VpnIp } from '../ip/vpn-ip.js';
import type { LogFields, Logger } from '../log/logger.js';
import { RateLimiter, type RateLimit } from '../log/rate-limit.js';

/** Drop lines per direction: enough to see what is refused and why, not enough to flood the log. */
export const DROP_LOG_LIMIT: RateLimit = { burst: 10, windowMs: 1000 };

export type DropDirection = 'inbound' | 'outbound';

const IPV6_HEADER_LEN = 40;

/** One node's drop-line budgets, one per direction (held by its Pipelines). */
export class DropLogLimits {
  readonly inbound = new RateLimiter(DROP_LOG_LIMIT);
  readonly outbound = new RateLimiter(DROP_LOG_LIMIT);
}

/**
 * Logs a refused packet at debug level, rate-limited. `vpnIp` is the peer it came from or was meant for (null when
 * no peer was found, e.g. no route); `packet` is the inner IP packet. An IPv6 packet shows its addresses and next
 * header only (the firewall's verdict named the reason; ports behind extension headers are not worth a parse here).
 */
export function logDroppedPacket(
  ctx: { log: Logger; clock: Clock; pipelines: { readonly dropLog: DropLogLimits } },
  direction: DropDirection,
  reason: string,
  packet: Uint8Array,
  vpnIp: VpnIp | null,
): void {
  if (!ctx.log.enabled('debug')) return;
  const suppressed = ctx.pipelines.dropLog[direction].admit(ctx.clock.now());
  if (suppressed < 0) return;
  const fields: LogFields = { vpnIp: vpnIp === null ? undefined : formatVpnIp(vpnIp), reason };
  const p = newFirewallPacket();
  if (packet.length >= IPV6_HEADER_LEN && packet[0] >> 4 === 6) {
    const src = formatVpnIp(vpnIp6FromBytes(packet, 8));
    const dst = formatVpnIp(vpnIp6FromBytes(packet, 24));
    fields.localIp = direction === 'inbound' ? dst : src;
    fields.remoteIp = direction === 'inbound' ? src : dst;
    fields.protocol = packet[6];
  } else if (parseIpv4Packet(packet, direction === 'inbound', p) === null) {
    fields.localIp = formatIpv4(p.localIp);
    fields.remoteIp = formatIpv4(p.remoteIp);
    fields.localPort = p.localPort;
    fields.remotePort = p.remotePort;
    fields.protocol = p.protocol;
    fields.fragment = p.fragment;
  }
  if (suppressed > 0) fields.suppressed = suppressed;
  ctx.log.debug(`dropping ${direction} packet`, fields);
}
