// A RelayManager driven through a fake env: tunnels are bare HostInfo stand-ins, sends and handshakes are recorded,
// time is a ManualClock. No sockets, no timers, no crypto.

import { ManualClock } from '../../../pkg/clock/clock.js';
import type { HostInfo } from '../../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../../pkg/hostmap/hostmap.js';
import { parseCidr, type Ipv4 } from '../../../pkg/ip/ipv4.js';
import { Logger } from '../../../pkg/log/logger.js';
import { Counters } from '../../../pkg/metrics/counters.js';
import { ControlType, type ControlMessage } from '../../../pkg/relay/control.js';
import { RelayManager } from '../../../pkg/relay/manager.js';
import { udpAddr } from '../../../pkg/udp/addr.js';

export interface RelayEnvOptions {
  amRelay?: boolean;
  /** Peers we have a direct tunnel to. */
  tunnels?: Ipv4[];
  /** relay.relays: hops we accept relays through as the target. */
  relaysForUs?: Ipv4[];
  vpnNet?: string;
}

export function relayEnv(me: Ipv4, opts: RelayEnvOptions = {}) {
  const hostmap = new HostMap();
  const addTunnel = (vpnIp: Ipv4): HostInfo => {
    const host = { vpnIp, remote: udpAddr(`198.51.100.${vpnIp & 0xff}`, 4242), localIndex: hostmap.allocateIndex(), remoteIndex: vpnIp } as unknown as HostInfo;
    hostmap.byVpnIp.set(vpnIp, host);
    return host;
  };
  for (const vpnIp of opts.tunnels ?? []) addTunnel(vpnIp);
  const sent: Array<{ to: Ipv4; m: ControlMessage }> = [];
  const handshakes: Ipv4[] = [];
  /** Handshakes still pending: a test ends one by deleting it. */
  const pending = new Set<Ipv4>();
  const ready: Ipv4[] = [];
  const logLines: string[] = [];
  const counters = new Counters();
  const clock = new ManualClock();
  const vpnNet = parseCidr(opts.vpnNet ?? '10.99.0.0/16');
  const manager = new RelayManager({
    hostmap,
    counters,
    log: new Logger('info', 'text', (line) => logLines.push(line), true),
    clock,
    myIp: () => me,
    vpnNet: () => vpnNet,
    amRelay: () => opts.amRelay ?? false,
    relaysForUs: () => opts.relaysForUs ?? [],
    sendControl: (host, m) => sent.push({ to: host.vpnIp, m }),
    startHandshake: (vpnIp) => {
      if (hostmap.byVpnIp.has(vpnIp) || pending.has(vpnIp)) return false;
      handshakes.push(vpnIp);
      pending.add(vpnIp);
      return true;
    },
    handshakePending: (vpnIp) => pending.has(vpnIp),
    send: () => {},
    relayReady: (vpnIp) => ready.push(vpnIp),
    acceptOnHop: () => {},
    deliverInner: () => {},
  });
  const tunnel = (vpnIp: Ipv4): HostInfo => hostmap.byVpnIp.get(vpnIp)!;
  return { manager, sent, handshakes, pending, ready, counters, clock, logLines, tunnel, addTunnel };
}

export function relayRequest(initiatorRelayIndex: number, from: Ipv4, to: Ipv4): ControlMessage {
  return { type: ControlType.CreateRelayRequest, initiatorRelayIndex, responderRelayIndex: 0, relayFromIp: from, relayToIp: to };
}

export function relayResponse(responderRelayIndex: number, initiatorRelayIndex: number, from: Ipv4, to: Ipv4): ControlMessage {
  return { type: ControlType.CreateRelayResponse, initiatorRelayIndex, responderRelayIndex, relayFromIp: from, relayToIp: to };
}
