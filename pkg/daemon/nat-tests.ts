// NAT tests wired to a node: a lighthouse's second port (lighthouse/probe-port.ts) and a node's measurement of its
// own NAT against a lighthouse's (punchy/nat-discovery.ts), with the routing of their in-tunnel messages.

import type { HostInfo } from '../hostmap/hostinfo.js';
import { ProbePort, type ProbePortEnv } from '../lighthouse/probe-port.js';
import { decodeMeta, MetaType } from '../lighthouse/meta.js';
import { NatDiscovery, type NatDiscoveryEnv, type NatTestResult } from '../punchy/nat-discovery.js';
import { NAT_ECHO_LEN, natTestType, NatTestType } from '../punchy/nat-test-wire.js';
import type { UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';

/** After our addresses change, the lighthouse tunnel needs a moment to follow before we measure again. */
export const REMEASURE_DELAY_MS = 1500;

/** The lighthouse tunnel a measurement runs on, and what it sends inside it. */
export interface NatTestTunnels {
  /** A tunnel to a lighthouse that is up, if any: a measurement after our addresses changed runs on it. */
  lighthouseTunnel(): HostInfo | undefined;
  /** A lighthouse payload inside `host`'s tunnel (NAT test requests and replies). */
  sendInTunnel(host: HostInfo, payload: Uint8Array): void;
  /** A whoami question on `host`'s tunnel: its reply names the lighthouse's second port. */
  sendWhoami(host: HostInfo): void;
}

/**
 * The node as the NAT tests see it: the roles of the measurement (NatDiscoveryEnv: our address, bare probes from the
 * listen socket, tokens, the measured event) and of the second port (ProbePortEnv) are handed on as they are.
 */
export interface NatTestsEnv extends NatTestTunnels, NatDiscoveryEnv, ProbePortEnv {
  /** Runs `fn` later unless the node stopped. */
  schedule(ms: number, fn: () => void): void;
}

export class NatTests {
  readonly discovery: NatDiscovery;

  constructor(
    private readonly env: NatTestsEnv,
    /** Set on a lighthouse with lighthouse.second_port enabled. */
    readonly probePort: ProbePort | null,
  ) {
    this.discovery = new NatDiscovery(env);
  }

  /** Opens the second port when `secondPort` says so (a lighthouse); `open` defaults to a node:dgram socket. */
  static async open(
    env: NatTestsEnv,
    secondPort: { enabled: boolean; port: number } | null,
    open: () => Promise<UdpConn>,
  ): Promise<NatTests> {
    const probePort = secondPort?.enabled ? new ProbePort(await open(), env) : null;
    return new NatTests(env, probePort);
  }

  /** A tunnel to a lighthouse came up: measure with it unless a measurement is known or under way. */
  lighthouseUp(host: HostInfo): void {
    this.discovery.start(host);
  }

  /** Our addresses changed: measure again once the lighthouse tunnel has followed. */
  addressesChanged(): void {
    this.discovery.invalidate();
    this.env.schedule(REMEASURE_DELAY_MS, () => {
      const lh = this.env.lighthouseTunnel();
      if (lh) this.discovery.start(lh);
    });
  }

  /** `mesh netcheck`: the current measurement, waiting for one under way (or starting one) up to `timeoutMs`. */
  async measured(timeoutMs: number): Promise<NatTestResult | null> {
    if (!this.discovery.last && !this.discovery.busy) {
      const lh = this.env.lighthouseTunnel();
      if (lh) this.discovery.start(lh);
    }
    await this.discovery.settled(timeoutMs);
    return this.discovery.last;
  }

  /**
   * A decrypted lighthouse payload: NAT test messages are taken (true); a HostWhoamiReply is read for the second
   * port and left for the other handlers (false).
   */
  onMeta(host: HostInfo, payload: Uint8Array): boolean {
    const t = natTestType(payload);
    if (t === NatTestType.Request) {
      if (this.probePort) this.probePort.onRequest(host, payload);
      else this.env.counters.inc('drops', 'nat-test-no-second-port');
      return true;
    }
    if (t === NatTestType.Reply) {
      this.discovery.onReply(host, payload);
      return true;
    }
    if (payload.length >= 2 && payload[0] === 0x08 && payload[1] === MetaType.HostWhoamiReply && this.discovery.busy) {
      try {
        const m = decodeMeta(payload);
        if (m.vpnIp === this.env.myIp()) this.discovery.onWhoamiReply(host, m.probePort, m.addrs[0]);
      } catch {
        // Left for the whoami handler, which counts it.
      }
    }
    return false;
  }

  /** A datagram on the listen socket that may be a NatEcho (outside.ts asks before parsing a header). */
  onDatagram(packet: Uint8Array, from: UdpAddr): boolean {
    return packet.length === NAT_ECHO_LEN && this.discovery.onDatagram(packet, from);
  }

  async close(): Promise<void> {
    this.discovery.invalidate();
    await this.probePort?.close();
  }
}
