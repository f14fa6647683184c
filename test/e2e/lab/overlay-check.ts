import type { Lab } from './lab.js';
import type { OverlayNode } from './overlay-net.js';
import { startTcpSink, tcpTransfer } from './tcp-transfer.js';
import type { TcpSink } from './tcp-transfer.js';
import { WaitTimeoutError, waitFor } from './wait.js';

// Checks across an overlay hop in one family, with failure messages that name the hop and the family (issue 18:
// "which hop, which family"), and that say so when the environment, not the overlay, failed.

export const SINK_PORT = 5201;

/** The node's sink on SINK_PORT, started once per node (listening on both families when the node has IPv6). */
const sinks = new WeakMap<OverlayNode, Promise<TcpSink>>();

export function sinkOn(lab: Lab, node: OverlayNode): Promise<TcpSink> {
  let sink = sinks.get(node);
  if (sink === undefined) {
    sink = startTcpSink(lab, node.host, SINK_PORT, { ipv6: node.vpnIp6 !== undefined });
    sinks.set(node, sink);
  }
  return sink;
}

export function hop(from: OverlayNode, to: OverlayNode, family: 4 | 6): string {
  return `${from.name} -> ${to.name} over IPv${family} (${to.address(family)})`;
}

/** A hint when a failure looks like the machine's doing (shared neighbour table, socket buffers), not the overlay's. */
export function environmentHint(lab: Lab): string {
  const text = lab.logTails(60);
  if (/ENOBUFS|No buffer space available/.test(text))
    return ' [the environment ran out of socket buffers (ENOBUFS), not an overlay fault]';
  if (/neighbour table overflow|neighbor table overflow/i.test(text))
    return " [the environment's neighbour table overflowed, not an overlay fault]";
  return '';
}

/** Pings until the first reply (the tunnel may still be coming up), then expects `count` of `count`. */
export async function assertPings(
  lab: Lab,
  from: OverlayNode,
  to: OverlayNode,
  family: 4 | 6,
  options: { count?: number; timeoutMs?: number } = {},
): Promise<number[]> {
  const ip = to.address(family);
  const what = hop(from, to, family);
  try {
    await waitFor(async () => ((await lab.ping(from.host, ip, { count: 1, timeoutSec: 1 })).ok ? true : null), {
      timeoutMs: options.timeoutMs ?? 20_000,
      intervalMs: 0,
      what: `first ping reply ${what}`,
    });
  } catch (e) {
    if (e instanceof WaitTimeoutError)
      throw new Error(`no ping reply ${what}${environmentHint(lab)}\n${lab.logTails(40)}`, { cause: e });
    throw e;
  }
  const count = options.count ?? 3;
  const pings = await lab.ping(from.host, ip, { count, timeoutSec: count + 2 });
  if (pings.rttMs.length !== count)
    throw new Error(
      `ping ${what}: ${pings.rttMs.length}/${count} replies ${JSON.stringify(pings)}${environmentHint(lab)}\n${lab.logTails(30)}`,
    );
  return pings.rttMs;
}

/** A checked TCP transfer (default 4 MiB) to `to`'s sink; returns the milliseconds it took. */
export async function assertTransfers(
  lab: Lab,
  from: OverlayNode,
  to: OverlayNode,
  family: 4 | 6,
  options: { bytes?: number; timeoutMs?: number } = {},
): Promise<number> {
  await sinkOn(lab, to);
  const r = await tcpTransfer(lab, from.host, to.address(family), SINK_PORT, options);
  if (!r.ok)
    throw new Error(
      `TCP transfer ${hop(from, to, family)} failed: ${JSON.stringify(r)}${environmentHint(lab)}\n${lab.logTails(30)}`,
    );
  return r.ms;
}
