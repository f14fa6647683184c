// A warm-up schedule's node (pkg/daemon/warm-up-schedule.ts WarmUpHost) for unit tests: a ManualClock, one tunnel
// whose traffic times the test moves as packets would, counters, and the log lines at info and above.

import { ManualClock } from '../../../pkg/clock/clock.js';
import type { WarmUpHost, WarmUpTunnels, WarmUpTunnelTraffic } from '../../../pkg/daemon/warm-up-schedule.js';
import type { HostInfo } from '../../../pkg/hostmap/hostinfo.js';
import { Logger } from '../../../pkg/log/logger.js';
import { Counters } from '../../../pkg/metrics/counters.js';

export class FakeTunnels implements WarmUpTunnels {
  readonly installed = new Set<(host: HostInfo) => void>();
  size = 0;
  /** One tunnel's traffic times, moved by the test as packets would. */
  readonly traffic = { lastSendAt: 0, lastRecvAt: 0 };
  hosts(): Iterable<WarmUpTunnelTraffic> {
    return [this.traffic];
  }
  onInstalled(listener: (host: HostInfo) => void): () => void {
    this.installed.add(listener);
    return () => this.installed.delete(listener);
  }
  onClosed(): () => void {
    return () => {};
  }
  install(): void {
    for (const l of [...this.installed]) l({} as HostInfo);
  }
}

export interface FakeWarmUpHost extends WarmUpHost {
  readonly clock: ManualClock;
  readonly tunnels: FakeTunnels;
  /** The node's log lines at info and above. */
  readonly logged: string[];
}

export function fakeWarmUpHost(): FakeWarmUpHost {
  const logged: string[] = [];
  return {
    clock: new ManualClock(),
    tunnels: new FakeTunnels(),
    counters: new Counters(),
    log: new Logger('info', 'text', (line) => logged.push(line), true),
    logged,
  };
}
