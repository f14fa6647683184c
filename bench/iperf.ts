// iperf3 between two lab hosts: a one-shot server in `server`, the client in `client`, results from its JSON.

import type { Host, Lab } from '../test/e2e/lab/lab.js';
import { waitFor } from '../test/e2e/lab/wait.js';

export interface TcpResult {
  /** Receiver goodput. */
  mbitPerSec: number;
  bytes: number;
  retransmits: number;
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
    const sum = json.end.sum;
    const received = json.end.sum_received ?? sum;
    return {
      offeredMbit,
      receivedMbit: ((sum.packets - sum.lost_packets) * payload * 8) / (seconds * 1e6),
      lossPercent: sum.lost_percent,
      bytes: received.bytes,
    };
  });
}

export interface FloodResult {
  /** The IP packet size asked for (UDP payload + 28 bytes of IPv4 and UDP headers). */
  packetBytes: number;
  sentPackets: number;
  /** Arrived at the receiver (sent less what it counted lost). */
  receivedPackets: number;
  /** The sender's measured duration. */
  seconds: number;
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
    // end.sum: the sender's packet count and duration, with the loss the receiver reported back.
    const sum = json.end.sum;
    return {
      packetBytes,
      sentPackets: sum.packets,
      receivedPackets: sum.packets - sum.lost_packets,
      seconds: sum.seconds,
      lossPercent: sum.lost_percent,
    };
  });
}
