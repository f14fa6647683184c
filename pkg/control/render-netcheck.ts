// `mesh netcheck` for a person: what each lighthouse saw, then the verdict in plain sentences.

import type { FilteringKind, NatVerdict, NetcheckReport } from './reports.js';
import { portMapLine } from './render-portmap.js';
import { formatRtt, textTable } from './text-table.js';

const MAPPING_WORDS: Record<NatVerdict['mapping'], string> = {
  'endpoint-independent': ' (one public address for every destination)',
  'endpoint-dependent': ' (address-and-port-dependent: a new public port per destination, a "symmetric" NAT)',
  unknown: '',
};

const FILTERING_WORDS: Record<FilteringKind, string> = {
  'address-dependent': ' (or looser: a packet from a port we never sent to got in)',
  'address-and-port-dependent': ' (only replies from the exact address and port we sent to get in)',
  unknown: '',
};

function yesNo(v: boolean | null): string {
  return v === null ? 'unknown' : v ? 'yes' : 'no';
}

export function renderNetcheck(r: NetcheckReport): string {
  const v = r.verdict;
  let out = `local udp port ${r.localPort}; local addresses: ${r.localAddresses.length ? r.localAddresses.join(', ') : 'none'}\n\n`;
  if (r.lighthouses.length > 0) {
    const rows = r.lighthouses.map((l) => [
      l.name ?? '-',
      l.vpnIp,
      l.underlay ?? '-',
      l.tunnel ? 'up' : 'DOWN',
      formatRtt(l.rttMs),
      l.seenAs ?? (l.tunnel ? 'unknown (no answer)' : '-'),
    ]);
    out += textTable(['lighthouse', 'overlay ip', 'underlay', 'tunnel', 'rtt', 'sees us at'], rows) + '\n';
  }
  out += `udp works:        ${yesNo(v.udpWorks)}\n`;
  out += `behind nat:       ${yesNo(v.behindNat)}\n`;
  out += `mapping:          ${v.mapping}${MAPPING_WORDS[v.mapping]}\n`;
  if (v.filtering !== undefined) out += `filtering:        ${v.filtering}${FILTERING_WORDS[v.filtering]}\n`;
  if (v.punchTtl !== undefined) out += `punch ttl:        ${v.punchTtl ?? 'default (not learned)'}\n`;
  out += `port preserving:  ${yesNo(v.portPreserving)}\n`;
  if (v.publicAddresses.length > 0) out += `public addresses: ${v.publicAddresses.join(', ')}\n`;
  if (r.portmap !== undefined) out += `port mapping:     ${portMapLine(r.portmap)}\n`;
  out += '\n' + v.summary.map((s) => `${s}\n`).join('');
  return out;
}
