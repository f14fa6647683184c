import type { Host, Lab } from './lab.js';
import { waitFor } from './wait.js';

// Pings across the overlay until the first reply, for tests that wait for a tunnel to come up.

/** Milliseconds until `from` got its first overlay ping reply from `to`; fails with the nodes' log tails. */
export async function reaches(
  lab: Lab,
  from: Host,
  to: { vpnIp: string; name: string },
  timeoutMs = 20_000,
): Promise<number> {
  const started = performance.now();
  await waitFor(async () => ((await lab.ping(from, to.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
    timeoutMs,
    intervalMs: 0,
    what: `overlay ping ${from.name} -> ${to.name} (${to.vpnIp})\n${lab.logTails(40)}`,
  });
  return performance.now() - started;
}
