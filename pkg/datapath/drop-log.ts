// Packets refused for a reason an operator can act on (no route to the destination, an outbound or inbound
// firewall verdict) are counted in `drops` and, at debug level, logged as Nebula logs them: "dropping outbound
// packet" / "dropping inbound packet" with the peer's overlay IP, the reason and the packet's addresses and ports.
//
// Inbound drops are triggered by peers and outbound ones by any local program, so each direction has its own
// budget (a peer's flood of refused packets cannot hide our own outbound drops) and lines beyond it are counted in
// the next line's `suppressed=` (docs/security-model.md). With debug off, nothing is parsed or formatted.

import type { Clock } from '../clock/clock.js';
import { newFirewallPacket, parseIpv4Packet } from '../firewall/packet.js';
import { formatIpv4, type Ipv4 } from '../ip/ipv4.js';
import type { LogFields, Logger } from '../log/logger.js';
import { RateLimiter, type RateLimit } from '../log/rate-limit.js';

/** Drop lines per direction: enough to see what is refused and why, not enough to flood the log. */
export const DROP_LOG_LIMIT: RateLimit = { burst: 10, windowMs: 1000 };

export type DropDirection = 'inbound' | 'outbound';

interface Limiters {
  inbound: RateLimiter;
  outbound: RateLimiter;
}

// Kept per logger (one per node) rather than on the node, so that the pipelines need nothing more from their context.
const limitersByLog = new WeakMap<Logger, Limiters>();

function limitersOf(log: Logger): Limiters {
  let l = limitersByLog.get(log);
  if (!l) {
    l = { inbound: new RateLimiter(DROP_LOG_LIMIT), outbound: new RateLimiter(DROP_LOG_LIMIT) };
    limitersByLog.set(log, l);
  }
  return l;
}

/**
 * Logs a refused packet at debug level, rate-limited. `vpnIp` is the peer it came from or was meant for (null when
 * no peer was found, e.g. no route); `packet` is the inner IPv4 packet.
 */
export function logDroppedPacket(
  ctx: { log: Logger; clock: Clock },
  direction: DropDirection,
  reason: string,
  packet: Uint8Array,
  vpnIp: Ipv4 | null,
): void {
  if (!ctx.log.enabled('debug')) return;
  const suppressed = limitersOf(ctx.log)[direction].admit(ctx.clock.now());
  if (suppressed < 0) return;
  const fields: LogFields = { vpnIp: vpnIp === null ? undefined : formatIpv4(vpnIp), reason };
  const p = newFirewallPacket();
  if (parseIpv4Packet(packet, direction === 'inbound', p) === null) {
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
