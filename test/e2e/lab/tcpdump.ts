import type { Host, Lab } from './lab.js';
import type { LabProcess } from './process.js';

// tcpdump in a lab namespace, started so that a test can count on what it captures: it resolves once tcpdump logs
// "listening on" (printed after the capture is open and its filter set), where a fixed sleep was a guess that a loaded
// machine could lose, and a packet sent before tcpdump was listening went uncounted.

/** How long tcpdump may take to open its capture on a loaded machine. */
export const TCPDUMP_START_MS = 10_000;

/** Starts `tcpdump args` in `ns` and waits until it captures. */
export async function startTcpdump(lab: Lab, ns: Host, args: readonly string[]): Promise<LabProcess> {
  const capture = await lab.spawn(ns, 'tcpdump', args);
  await capture.waitForLog(/listening on /, TCPDUMP_START_MS);
  return capture;
}
