// Keeps one port mapping for the node's listen port on the gateway: tries PCP, then NAT-PMP, then UPnP-IGD at
// start and after an address change, renews at half the granted lifetime, retries with backoff when nothing
// mapped, and deletes the mapping at stop. The node decides what to do with the mapping (lighthouse/advertise.ts
// advertises it only when its external IP is where the lighthouses see us).
//
// Why our own clients and not @achingbrain/nat-port-mapper (the maintained npm client for UPnP and NAT-PMP): it
// has no PCP, brings nine runtime dependencies (xml2js, a logger, netmask, …) into a daemon that has five, and
// its gateway discovery is not bounded the way ours must be. The three protocols mesh needs here are small: PCP
// and NAT-PMP are fixed binary messages (pcp-wire.ts, natpmp-wire.ts) and UPnP needs three SOAP calls (upnp.ts).
// This module is imported lazily, only when portmap.enabled, so a node without it never loads it.

import { after, type Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { MappingClient, PortMapping, PortMapProtocol } from './types.js';

/** Delays between rounds that mapped nothing (then only an address change starts another). */
export const RETRY_BACKOFF_MS = [30_000, 60_000, 120_000, 300_000, 600_000] as const;
/** A failed renewal is tried again this much later, while the mapping lasts. */
export const RENEW_RETRY_MS = 15_000;
/** How long stop() waits for the gateway to confirm a delete. */
export const DELETE_WAIT_MS = 1000;

export interface PortMapperEnv {
  clock: Clock;
  log: Logger;
  /** The listen port to map (the UDP socket's local port). */
  internalPort(): number;
  gateway(): Promise<string | null>;
  /** Tried in this order; the first that maps wins. */
  clients: readonly MappingClient[];
  lifetimeSec: number;
  /** The mapping appeared, changed or went away. */
  changed(m: PortMapping | null): void;
}

export type PortMapState = 'starting' | 'trying' | 'mapped' | 'none' | 'stopped';

export interface PortMapStatus {
  state: PortMapState;
  gateway: string | null;
  mapping: {
    protocol: PortMapProtocol;
    externalIp: string;
    externalPort: number;
    lifetimeSec: number;
    expiresInSec: number;
  } | null;
  /** Why each protocol did not map, from the last round. */
  failures: Array<{ protocol: PortMapProtocol; error: string }>;
  /** Set when no round could start (no default gateway). */
  reason: string | null;
}

export class PortMapper {
  private mapping: PortMapping | null = null;
  private expiresAt = 0;
  private state: PortMapState = 'starting';
  private gatewayIp: string | null = null;
  private failures: PortMapStatus['failures'] = [];
  private reason: string | null = null;
  private cancelTimer: (() => void) | null = null;
  /** Bumped by refresh() and stop(): a round that started earlier drops its result. */
  private generation = 0;
  private failedRounds = 0;

  constructor(private readonly env: PortMapperEnv) {}

  start(): void {
    void this.round(this.generation);
  }

  /** Our addresses changed: the old mapping (if the gateway still has it) is released and a new round starts. */
  refresh(): void {
    if (this.state === 'stopped') return;
    this.generation++;
    this.clearTimer();
    this.failedRounds = 0;
    const old = this.mapping;
    this.setMapping(null);
    if (old) void this.unmap(old);
    void this.round(this.generation);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.generation++;
    this.state = 'stopped';
    this.clearTimer();
    const old = this.mapping;
    this.mapping = null;
    if (old === null) return;
    await Promise.race([this.unmap(old), new Promise<void>((r) => after(this.env.clock, DELETE_WAIT_MS, r))]);
  }

  current(): PortMapping | null {
    return this.mapping;
  }

  status(): PortMapStatus {
    const m = this.mapping;
    return {
      state: this.state,
      gateway: this.gatewayIp,
      mapping: m && {
        protocol: m.protocol,
        externalIp: m.externalIp,
        externalPort: m.externalPort,
        lifetimeSec: m.lifetimeSec,
        expiresInSec: Math.max(0, Math.round((this.expiresAt - this.env.clock.now()) / 1000)),
      },
      failures: [...this.failures],
      reason: this.reason,
    };
  }

  private async unmap(m: PortMapping): Promise<void> {
    const client = this.env.clients.find((c) => c.protocol === m.protocol);
    try {
      await client?.unmap(m);
      this.env.log.info('Port mapping deleted', {
        protocol: m.protocol,
        external: `${m.externalIp}:${m.externalPort}`,
      });
    } catch (e) {
      this.env.log.debug('Port mapping delete failed', { protocol: m.protocol, error: (e as Error).message });
    }
  }

  private async round(gen: number): Promise<void> {
    this.state = 'trying';
    const gateway = await this.env.gateway();
    if (gen !== this.generation) return;
    this.gatewayIp = gateway;
    if (gateway === null) {
      this.reason = 'no IPv4 default gateway';
      this.failures = [];
      return this.roundFailed(gen);
    }
    this.reason = null;
    const failures: PortMapStatus['failures'] = [];
    for (const client of this.env.clients) {
      try {
        const m = await client.map({
          gateway,
          internalPort: this.env.internalPort(),
          lifetimeSec: this.env.lifetimeSec,
        });
        if (gen !== this.generation) {
          void this.unmap(m); // stopped or refreshed meanwhile: not ours to keep
          return;
        }
        this.failures = failures;
        this.failedRounds = 0;
        this.env.log.info('Port mapped', {
          protocol: m.protocol,
          external: `${m.externalIp}:${m.externalPort}`,
          lifetimeSec: m.lifetimeSec,
        });
        this.setMapping(m);
        return;
      } catch (e) {
        if (gen !== this.generation) return;
        failures.push({ protocol: client.protocol, error: (e as Error).message });
      }
    }
    this.failures = failures;
    this.env.log.info('No port mapping', {
      gateway,
      failures: failures.map((f) => `${f.protocol}: ${f.error}`).join('; '),
    });
    this.roundFailed(gen);
  }

  private roundFailed(gen: number): void {
    this.state = 'none';
    const wait = RETRY_BACKOFF_MS[this.failedRounds++];
    if (wait !== undefined) this.setTimer(wait, () => void this.round(gen));
  }

  private setMapping(m: PortMapping | null): void {
    const before = this.mapping;
    this.mapping = m;
    if (m) {
      this.state = 'mapped';
      this.expiresAt = this.env.clock.now() + m.lifetimeSec * 1000;
      this.setTimer((m.lifetimeSec * 1000) / 2, () => void this.renew(this.generation));
    }
    const same = before && m && before.externalIp === m.externalIp && before.externalPort === m.externalPort;
    if (!same && (before || m)) this.env.changed(m);
  }

  private async renew(gen: number): Promise<void> {
    const m = this.mapping;
    if (m === null || gen !== this.generation) return;
    const client = this.env.clients.find((c) => c.protocol === m.protocol) as MappingClient;
    try {
      const renewed = await client.map({
        gateway: m.gateway,
        internalPort: m.internalPort,
        lifetimeSec: this.env.lifetimeSec,
        previous: m,
      });
      if (gen !== this.generation) return;
      this.setMapping(renewed);
    } catch (e) {
      if (gen !== this.generation) return;
      const left = this.expiresAt - this.env.clock.now();
      this.env.log.info('Port mapping renewal failed', {
        protocol: m.protocol,
        error: (e as Error).message,
        leftSec: Math.round(left / 1000),
      });
      if (left > RENEW_RETRY_MS) return this.setTimer(RENEW_RETRY_MS, () => void this.renew(gen));
      // Expired (or about to): gone. Start over with every protocol.
      this.setMapping(null);
      this.failedRounds = 0;
      void this.round(gen);
    }
  }

  private setTimer(ms: number, fn: () => void): void {
    this.clearTimer();
    this.cancelTimer = after(this.env.clock, ms, fn);
  }

  private clearTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }
}
