// What a node learns about its NAT from one mesh lighthouse with a second port (lighthouse/probe-port.ts), in
// RFC 4787 terms, and the punch TTL it derives. Wire: nat-test-wire.ts; docs/mesh-extensions.md, "NAT tests".
// One run, at start (the first lighthouse tunnel) and after our addresses change:
//
//   1. whoami     HostWhoami in the tunnel; a mesh lighthouse answers with the address it sees us at (A) and its
//                 second port (Q). No Q (a Nebula lighthouse, or the port is off): nothing is known, the run ends.
//   2. filtering  before anything was sent to Q, ask (in the tunnel) for an echo from Q to A. It arrives only if
//                 our NATs let in a packet from a port we never sent to: filtering is address-dependent (or looser);
//                 otherwise address-and-port-dependent. Must come first: any later step opens a mapping toward Q.
//   3. punch TTL  only with port-dependent filtering: for k = 2..MAX_PUNCH_TTL a NatProbe with IP TTL k from the
//                 listen socket toward Q, then an echo request. The echo gets back only when the probe opened every
//                 NAT on the way, i.e. when k exceeds the hops to the outermost NAT; the smallest such k is the
//                 punch TTL. A punch with it opens the outermost NAT and dies at the next router, before the far
//                 side's NAT (nat-punch.ts). Why not ICMP time-exceeded or traceroute: unprivileged sockets do not
//                 see them and routers often rate-limit or hide them; the echo tests exactly what a punch needs.
//   4. mapping    a full-TTL NatProbe to Q, then ask where Q saw it. The same address as A: the mapping does not
//                 depend on the destination port (endpoint-independent; one lighthouse IP cannot tell it from
//                 address-dependent, which is rare); another port: address-and-port-dependent (a "symmetric" NAT).
//
// A lost datagram makes a step err on the safe side (filtering strict, a higher TTL, mapping unknown). With
// endpoint-dependent mapping step 3 never sees an echo (the probe's mapping is not A's), so the TTL stays the default.

import type { VpnIp } from '../ip/vpn-ip.js';
import { after, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import { addrKey, sameAddr, udpAddr, type UdpAddr } from '../udp/addr.js';
import { PUNCH_TTL } from './nat-punch.js';
import {
  decodeNatEcho,
  decodeNatTestReply,
  encodeNatProbe,
  encodeNatTestRequest,
  type NatTestReply,
} from './nat-test-wire.js';

export const MIN_PUNCH_TTL = 2;
export const MAX_PUNCH_TTL = 6;
/** How long the lighthouse has to answer the whoami before the run gives up. */
export const WHOAMI_WAIT_MS = 2000;
/** Echo waits are a few whoami round trips, within these bounds. */
export const MIN_ECHO_WAIT_MS = 150;
export const MAX_ECHO_WAIT_MS = 1000;
/** How often the mapping step asks again when the probe had not arrived yet. */
export const MAPPING_ASKS = 3;

export type MappingBehaviour = 'endpoint-independent' | 'endpoint-dependent' | 'unknown';
export type FilteringBehaviour = 'address-dependent' | 'address-and-port-dependent' | 'unknown';

export interface NatTestResult {
  /** The lighthouse that measured (its primary overlay address). */
  lighthouse: VpnIp;
  /** Where its main port sees us, and where its second port saw our probe (null: not seen). */
  seenMain: UdpAddr;
  seenSecond: UdpAddr | null;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  /** The learned punch TTL, or null when it could not be learned (then PUNCH_TTL is used). */
  punchTtl: number | null;
}

export interface NatDiscoveryEnv {
  clock: Clock;
  log: Logger;
  counters: Counters;
  /** Our primary overlay address; the NAT test messages carry it only when it is IPv4 (nat-test-wire.ts). */
  myIp(): VpnIp;
  /** HostWhoami to `host` inside its tunnel. */
  sendWhoami(host: HostInfo): void;
  /** A lighthouse payload to `host` inside its tunnel. */
  sendInTunnel(host: HostInfo, payload: Uint8Array): void;
  /** A bare datagram from the listen socket; `ttl` sets a one-off IP TTL. */
  sendBare(packet: Uint8Array, to: UdpAddr, ttl?: number): void;
  randomToken(): Uint8Array;
  /** A run finished with a result (punchTtl() may have changed). */
  measured?(r: NatTestResult): void;
}

type Wake = (what: 'echo' | 'reply' | 'timeout') => void;

export class NatDiscovery {
  private result: NatTestResult | null = null;
  private running: { host: HostInfo; gen: number } | null = null;
  private gen = 0;
  private doneWaiters: Array<() => void> = [];
  // The step in progress: what it waits for, and how to wake it.
  private whoami: ((probePort: number, seen: UdpAddr | undefined) => void) | null = null;
  private expectEcho: { token: Uint8Array; from: UdpAddr } | null = null;
  private expectReply: ((r: NatTestReply) => void) | null = null;

  constructor(private readonly env: NatDiscoveryEnv) {}

  get last(): NatTestResult | null {
    return this.result;
  }

  /** The TTL for a low-TTL punch: learned, or PUNCH_TTL. */
  punchTtl(): number {
    return this.result?.punchTtl ?? PUNCH_TTL;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** Starts a run with `lighthouse` unless one is running or a result is known (`force`: measure again). */
  start(lighthouse: HostInfo, force = false): void {
    if (this.running || (this.result && !force)) return;
    const gen = ++this.gen;
    this.running = { host: lighthouse, gen };
    void this.run(lighthouse, gen).then(
      (r) => this.finish(gen, r),
      (e) => {
        this.env.log.debug('NAT test failed', { error: (e as Error).message });
        this.finish(gen, null);
      },
    );
  }

  /** Our addresses changed: what we knew may be wrong. The next start() measures again. */
  invalidate(): void {
    this.result = null;
    this.abort();
  }

  /** Resolves when no run is in progress (at once when none is), or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = after(this.env.clock, timeoutMs, () => resolve());
      this.doneWaiters.push(() => {
        cancel();
        resolve();
      });
    });
  }

  /** A HostWhoamiReply from a lighthouse (also read by the control socket's whoami). */
  onWhoamiReply(from: HostInfo, probePort: number | undefined, seen: UdpAddr | undefined): void {
    if (this.running?.host === from && this.whoami) this.whoami(probePort ?? 0, seen);
  }

  /** A decrypted NatTestReply payload from `from`. */
  onReply(from: HostInfo, payload: Uint8Array): void {
    if (this.running?.host !== from || !this.expectReply) return;
    try {
      this.expectReply(decodeNatTestReply(payload));
    } catch {
      this.env.counters.inc('drops', 'nat-test-malformed');
    }
  }

  /** A bare datagram on the listen socket that may be a NatEcho; true when it was ours (consumed). */
  onDatagram(packet: Uint8Array, from: UdpAddr): boolean {
    const token = decodeNatEcho(packet);
    if (!token) return false;
    const want = this.expectEcho;
    if (!want || !sameAddr(from, want.from) || !equal(token, want.token)) {
      this.env.counters.inc('drops', 'nat-echo-unexpected');
      return true;
    }
    this.expectEcho = null;
    this.wake?.('echo');
    return true;
  }

  private wake: Wake | null = null;

  private finish(gen: number, r: NatTestResult | null): void {
    if (this.running?.gen !== gen) return;
    this.running = null;
    if (r) {
      this.result = r;
      this.env.counters.inc('nat-test', 'done');
      this.env.log.info('NAT behaviour measured', {
        mapping: r.mapping,
        filtering: r.filtering,
        punchTtl: r.punchTtl ?? `default ${PUNCH_TTL}`,
        seenAs: addrKey(r.seenMain),
      });
      this.env.measured?.(r);
    }
    const waiters = this.doneWaiters;
    this.doneWaiters = [];
    for (const w of waiters) w();
  }

  private abort(): void {
    if (!this.running) return;
    const gen = this.running.gen;
    this.wake?.('timeout');
    this.finish(gen, null);
  }

  private live(gen: number): boolean {
    return this.running?.gen === gen;
  }

  /** Waits for `what` or `ms`; resolves with what came first. */
  private waitFor(ms: number): Promise<'echo' | 'reply' | 'timeout'> {
    return new Promise((resolve) => {
      const cancel = after(this.env.clock, ms, () => done('timeout'));
      const done: Wake = (what) => {
        cancel();
        this.wake = null;
        resolve(what);
      };
      this.wake = done;
    });
  }

  private async run(lh: HostInfo, gen: number): Promise<NatTestResult | null> {
    const env = this.env;
    // 1. whoami
    const t0 = env.clock.now();
    let probePort = 0;
    let seenMain: UdpAddr | undefined;
    this.whoami = (port, seen) => {
      probePort = port;
      seenMain = seen;
      this.whoami = null;
      this.wake?.('reply');
    };
    env.sendWhoami(lh);
    await this.waitFor(WHOAMI_WAIT_MS);
    this.whoami = null;
    // Over TCP (tcp/tcp-addr.ts) there is no UDP path to measure.
    if (!this.live(gen) || probePort === 0 || !seenMain || !lh.remote || isTcpAddr(lh.remote)) return null;
    const wait = Math.min(MAX_ECHO_WAIT_MS, Math.max(MIN_ECHO_WAIT_MS, 3 * (env.clock.now() - t0) + 50));
    const second = udpAddr(lh.remote.address, probePort);
    env.counters.inc('nat-test', 'start');

    // 2. filtering
    const echoed = async (): Promise<boolean> => {
      const token = env.randomToken();
      this.expectEcho = { token, from: second };
      env.sendInTunnel(lh, encodeNatTestRequest({ vpnIp: askerField(env.myIp()), echoToken: token }));
      const got = (await this.waitFor(wait)) === 'echo';
      this.expectEcho = null;
      return got;
    };
    const filtering: FilteringBehaviour = (await echoed()) ? 'address-dependent' : 'address-and-port-dependent';
    if (!this.live(gen)) return null;

    // 3. punch TTL
    let punchTtl: number | null = null;
    if (filtering === 'address-and-port-dependent') {
      for (let k = MIN_PUNCH_TTL; k <= MAX_PUNCH_TTL && this.live(gen); k++) {
        env.sendBare(encodeNatProbe(env.randomToken()), second, k);
        if (await echoed()) {
          punchTtl = k;
          break;
        }
      }
    }
    if (!this.live(gen)) return null;

    // 4. mapping
    const token = env.randomToken();
    env.sendBare(encodeNatProbe(token), second);
    let seenSecond: UdpAddr | null = null;
    for (let ask = 0; ask < MAPPING_ASKS && seenSecond === null && this.live(gen); ask++) {
      let reply: NatTestReply | null = null;
      this.expectReply = (r) => {
        if (r.probeToken && equal(r.probeToken, token)) {
          reply = r;
          this.wake?.('reply');
        }
      };
      env.sendInTunnel(lh, encodeNatTestRequest({ vpnIp: askerField(env.myIp()), probeToken: token }));
      await this.waitFor(wait);
      this.expectReply = null;
      seenSecond = (reply as NatTestReply | null)?.seenAt ?? null;
    }
    if (!this.live(gen)) return null;
    const mapping: MappingBehaviour =
      seenSecond === null ? 'unknown' : sameAddr(seenSecond, seenMain) ? 'endpoint-independent' : 'endpoint-dependent';
    return { lighthouse: lh.vpnIp, seenMain, seenSecond, mapping, filtering, punchTtl };
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The NAT test messages' uint32 asker field (informational; tokens tie the messages together): 0 for IPv6. */
function askerField(me: VpnIp): number {
  return typeof me === 'number' ? me : 0;
}
