// Picks the lighthouse's store from lighthouse.store (docs/lighthouse-tier.md): memory unless NATS is named.
// nats-store.ts itself is small and loads the NATS client packages (nats-client.ts) only once it connects.

import type { Clock } from '../../clock/clock.js';
import type { LighthouseStoreConfig } from '../../config/section-lighthouse-store.js';
import type { VpnIp } from '../../ip/vpn-ip.js';
import type { Logger } from '../../log/logger.js';
import type { Counters } from '../../metrics/counters.js';
import { NatsStore } from './nats-store.js';
import { defaultLighthouseId } from './record.js';
import { MemoryStore, type LighthouseStore } from './store.js';

export function openLighthouseStore(
  config: LighthouseStoreConfig | undefined,
  env: { vpnIp: VpnIp; clock: Clock; log: Logger; counters: Counters },
): LighthouseStore {
  if (!config || config.kind === 'memory') return new MemoryStore();
  return new NatsStore({
    config,
    id: config.id ?? defaultLighthouseId(env.vpnIp),
    clock: env.clock,
    log: env.log,
    counters: env.counters,
  });
}
