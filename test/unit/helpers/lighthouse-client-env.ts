// The LighthouseClientEnv of a node that only asks and listens: no addresses or relays of its own to report, every
// answered address allowed, no punching back, sends and events ignored, timers never run, unless the caller hooks
// them. Shared by the tests that drive a LighthouseClient by hand (IPv6 answers, cert versions, closed tunnels,
// the birthday-attack replies).

import { ManualClock } from '../../../pkg/clock/clock.js';
import { HostMap } from '../../../pkg/hostmap/hostmap.js';
import { parseIpPrefix } from '../../../pkg/ip/prefix.js';
import type { LighthouseClientEnv } from '../../../pkg/lighthouse/client.js';
import { Counters } from '../../../pkg/metrics/counters.js';

/** Who the lighthouses are, who we are and which tunnels exist; anything else of the env overrides a default. */
export type ClientParts = Pick<LighthouseClientEnv, 'lighthouses' | 'vpnAddrs' | 'hostFor'> &
  Partial<LighthouseClientEnv>;

export function lighthouseClientEnv(parts: ClientParts): LighthouseClientEnv {
  return {
    clock: new ManualClock(1_000_000),
    tunnelEvents: new HostMap(),
    counters: new Counters(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    startHandshake: () => {},
    learned: () => {},
    send: () => {},
    ownAddresses: () => [],
    relays: () => [],
    remoteAllowed: () => true,
    punch: () => {},
    openMapping: () => {},
    punchDelayMs: () => 0,
    respond: () => false,
    sendTestRequestTo: () => {},
    schedule: () => {},
    ...parts,
  };
}
