// When the daemon runs its warm-up (warm-up.ts): once the node is idle after start-up, i.e. a short while after its
// first tunnel is installed (normally a lighthouse's), or after a fallback delay on a node with no tunnel yet (no
// lighthouse, or one that does not answer). Deferred like port mapping, so start-up and the lighthouse
// registration, which a first contact waits for, never wait for it. Runs once per process.

import { after, type Clock } from '../clock/clock.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { Logger } from '../log/logger.js';

/** After the first tunnel is installed: its handshake's remaining packets and first updates are done by then. */
export const WARM_UP_IDLE_MS = 200;
/** A node that installed no tunnel by then warms up anyway: a lighthouse that answers later must not delay it. */
export const WARM_UP_FALLBACK_MS = 3000;

/** The node's tunnels as the schedule sees them: installs to come, and how many are up already. */
export interface WarmUpTunnels extends TunnelEvents {
  readonly size: number;
}

/** What the schedule needs from the node: its tunnels, clock and log. */
export interface WarmUpHost {
  readonly tunnels: WarmUpTunnels;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Schedules `run` once; returns a cancel function (the daemon's stop calls it, so a stopping node never starts it). */
export function scheduleWarmUp(host: WarmUpHost, run: (clock: Clock) => Promise<void>): () => void {
  let cancelTimer = (): void => {};
  let done = false;
  const start = (): void => {
    if (done) return;
    done = true;
    unsubscribe();
    cancelTimer();
    const cpu = process.cpuUsage();
    run(host.clock).then(
      () => {
        const used = process.cpuUsage(cpu);
        host.log.debug('Warm-up done', { cpuMs: Math.round((used.user + used.system) / 100) / 10 });
      },
      (e: unknown) => host.log.debug('Warm-up did not complete', { error: (e as Error).message }),
    );
  };
  const installed = (): void => {
    cancelTimer();
    cancelTimer = after(host.clock, WARM_UP_IDLE_MS, start);
    unsubscribe();
  };
  const unsubscribe = host.tunnels.onInstalled(installed);
  cancelTimer = after(host.clock, WARM_UP_FALLBACK_MS, start);
  // The daemon's start-up can finish after the lighthouse's tunnel is up (its answer beat the last await).
  if (host.tunnels.size > 0) installed();
  return () => {
    done = true;
    unsubscribe();
    cancelTimer();
  };
}
