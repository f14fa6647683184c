// iperf3 between two lab hosts: a one-shot server in `server`, the client in `client`, results from its JSON.

import type { Host, Lab } from '../test/e2e/lab/lab.js';
import { waitFor } from '../test/e2e/lab/wait.js';

export interface TcpResult {
  /** Receiver goodput. */
  mbitPerSec: number;
  bytes: number;
  retransmits: number;
  /**
   * How long the receiver and the sender each counted (iperf3's sum_received / sum_sent seconds). The receiver's
   * clock starts before the sender's first byte, as soon as the server starts the test; under loss iperf3's own
   * control messages cross the same lossy tunnel and can hold the sender back for seconds (TCP retransmission
   * timeouts), which the receiver's rate then counts as time with nothing sent.
   */
  receiverSeconds?: number;
  senderSeconds?: number;
}

export interface UdpResult {
  offeredMbit: number;
  /** What arrived, per the receiver. */
  receivedMbit: number;
  lossPercent: number;
  bytes: number;
}

let portSeq = 0;

async function withServer<T>(lab: Lab, server: Host, run: (port: number) => Promise<T>): Promise<T> {
  const port = 5201 + (portSeq++ % 100);
  const proc = await lab.spawn(server, 'iperf3', ['-s', '-1', '--forceflush', '-p', String(port)]);
  try {
    await waitFor(() => /Server listening/.test(proc.log()), {
      timeoutMs: 5000,
      intervalMs: 20,
      what: 'iperf3 server',
    });
    return await run(port);
  } finally {
    await proc.kill(1000);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- iperf3's JSON report, read field by field below
async function client(lab: Lab, host: Host, args: string[], seconds: number): Promise<Record<string, any>> {
  const r = await lab.exec(host, 'iperf3', [...args, '-t', String(seconds), '-J'], {
    timeoutMs: (seconds + 20) * 1000,
    check: false,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const json = JSON.parse(r.stdout) as Record<string, any>;
  if (json.error) throw new Error(`iperf3 ${args.join(' ')}: ${json.error}`);
  return json;
}

/** TCP for `seconds`; `parallel` flows at once (iperf3 -P), summed. */
export function iperfTcp(
  lab: Lab,
  from: Host,
  to: Host,
  toIp: string,
  seconds: number,
  parallel = 1,
): Promise<TcpResult> {
  return withServer(lab, to, async (port) => {
    const json = await client(
      lab,
      from,
      ['-c', toIp, '-p', String(port), ...(parallel > 1 ? ['-P', String(parallel)] : [])],
      seconds,
    );
    const received = json.end.sum_received;
    return {
      mbitPerSec: received.bits_per_second / 1e6,
      bytes: received.bytes,
      retransmits: json.end.sum_sent.retransmits ?? 0,
      receiverSeconds: received.seconds,
      senderSeconds: json.end.sum_sent.seconds,
    };
  });
}

/** UDP at a fixed offered load, `payload`-byte datagrams (1200 fits an MTU-1300 overlay with room to spare). */
export function iperfUdp(
  lab: Lab,
  from: Host,
  to: Host,
  toIp: string,
  offeredMbit: number,
  seconds: number,
  payload = 1200,
): Promise<UdpResult> {
  return withServer(lab, to, async (port) => {
    const json = await client(
      lab,
      from,
      ['-c', toIp, '-p', String(port), '-u', '-b', `${offeredMbit}M`, '-l', String(payload), '-w', '4M'],
      seconds,
    );
    const { sent, received } = udpEnds(json);
    return {
      offeredMbit,
      receivedMbit: (received.bytes * 8) / (received.seconds * 1e6),
      lossPercent: lossPercent(sent.packets, received.packets),
      bytes: received.bytes,
    };
  });
}

export interface FloodResult {
  /** The IP packet size asked for (UDP payload + 28 bytes of IPv4 and UDP headers). */
  packetBytes: number;
  sentPackets: number;
  /** The sender's measured duration. */
  sentSeconds: number;
  /** Datagrams the receiver read (its own count; packets lost after the last one that arrived are not in it). */
  receivedPackets: number;
  /** The receiver's measured duration. */
  receivedSeconds: number;
  /** Sent packets that never arrived, gaps and tail alike. */
  lossPercent: number;
}

/** IPv4 and UDP headers: a `packetBytes` IP packet carries packetBytes - 28 bytes of iperf3 payload. */
export const IPV4_UDP_HEADERS = 28;

/**
 * UDP as fast as iperf3 can send (-b 0), `packetBytes`-byte IP packets, for `seconds`: packets per second sent
 * and received. The sender is the bottleneck only when the path is faster than one iperf3 core.
 */
export function iperfUdpFlood(
  lab: Lab,
  from: Host,
  to: Host,
  toIp: string,
  packetBytes: number,
  seconds: number,
): Promise<FloodResult> {
  const payload = packetBytes - IPV4_UDP_HEADERS;
  if (payload < 16) throw new RangeError(`iperf3 needs at least 16 bytes of UDP payload; ${packetBytes} is too small`);
  return withServer(lab, to, async (port) => {
    const json = await client(
      lab,
      from,
      ['-c', toIp, '-p', String(port), '-u', '-b', '0', '-l', String(payload), '-w', '4M'],
      seconds,
    );
    const { sent, received } = udpEnds(json);
    return {
      packetBytes,
      sentPackets: sent.packets,
      sentSeconds: sent.seconds,
      receivedPackets: received.packets,
      receivedSeconds: received.seconds,
      lossPercent: lossPercent(sent.packets, received.packets),
    };
  });
}

/** What one side of a UDP test counted. */
export interface UdpEnd {
  packets: number;
  bytes: number;
  seconds: number;
}

/**
 * The sender's and the receiver's own counts from a UDP client report. end.sum mixes them (the sender's packets less
 * the receiver's sequence gaps), so packets still queued in the daemons when the test stops (tail loss: no later
 * sequence number arrives to show a gap) would count as received. sum_received carries what the server reported back:
 * its highest sequence number seen less its gaps, the bytes it read and its own duration.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- iperf3's JSON report, read field by field
export function udpEnds(json: Record<string, any>): { sent: UdpEnd; received: UdpEnd } {
  const s = json.end?.sum_sent;
  const r = json.end?.sum_received;
  if (s === undefined || r === undefined) throw new Error('iperf3 report without end.sum_sent / end.sum_received');
  return {
    sent: { packets: s.packets, bytes: s.bytes, seconds: s.seconds },
    received: { packets: r.packets - r.lost_packets, bytes: r.bytes, seconds: r.seconds },
  };
}

/** Percent of `sent` that did not arrive (0 when more arrived than the sender counted: duplicates). */
export function lossPercent(sent: number, received: number): number {
  return sent > 0 ? Math.max(0, (100 * (sent - received)) / sent) : 0;
}
