// Where to ask for a port mapping: PCP and NAT-PMP servers live on the default gateway (RFC 6887 §8.1,
// RFC 6886 §3.1). Read from /proc/net/route (Linux), whose addresses are hex in host (little-endian) byte order.

import { readFile } from 'node:fs/promises';

/**
 * The IPv4 default gateway in a /proc/net/route text: the first up (RTF_UP) gateway (RTF_GATEWAY) route whose
 * destination and mask are 0, with the lowest metric. Null when there is none.
 */
export function parseDefaultGateway(text: string): string | null {
  let best: { gw: string; metric: number } | null = null;
  for (const line of text.split('\n').slice(1, 1025)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [, dest, gw, flagsHex, , , metricText, mask] = f;
    if (dest !== '00000000' || mask !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(gw as string)) continue;
    const flags = parseInt(flagsHex as string, 16);
    if ((flags & 0x3) !== 0x3) continue;
    const le = parseInt(gw as string, 16) >>> 0;
    const ip = `${le & 255}.${(le >>> 8) & 255}.${(le >>> 16) & 255}.${le >>> 24}`;
    const metric = Number(metricText);
    if (ip !== '0.0.0.0' && (best === null || metric < best.metric)) best = { gw: ip, metric };
  }
  return best?.gw ?? null;
}

export async function defaultGateway(): Promise<string | null> {
  try {
    return parseDefaultGateway(await readFile('/proc/net/route', 'utf8'));
  } catch {
    return null;
  }
}
