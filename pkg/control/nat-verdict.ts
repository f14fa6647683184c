// What the lighthouses' view of us says about our NAT, in RFC 4787 terms and in plain words. Mapping is
// endpoint-independent when every lighthouse sees the same public address and port (one mapping for all
// destinations: hole punching works); endpoint-dependent when the port differs per lighthouse (a "symmetric" NAT:
// peers behind other NATs will need a relay). With one lighthouse, the node's NAT tests against a mesh
// lighthouse's second port (punchy/nat-discovery.ts) tell the mapping (does the second port see us at the same
// address?) and the filtering (did a packet from a port we never sent to get in?); without them filtering is not
// measured.

import type { NatTestResult } from '../punchy/nat-discovery.js';
import type { LighthouseObservation, MappingKind, NatVerdict } from './reports.js';

export interface NatInput {
  localPort: number;
  /** Our own interface addresses (IP only). */
  localIps: string[];
  observations: LighthouseObservation[];
  /** The node's NAT tests against a lighthouse's second port, when one ran. */
  natTest?: NatTestResult | null;
}

function splitAddr(text: string): { ip: string; port: number } {
  const i = text.lastIndexOf(':');
  return { ip: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}

export function classifyNat(input: NatInput): NatVerdict {
  const obs = input.observations;
  const seen = obs
    .filter((o) => o.seenAs !== null)
    .map((o) => ({ lh: o.name ?? o.vpnIp, ...splitAddr(o.seenAs as string), text: o.seenAs as string }));
  const publicAddresses = [...new Set(seen.map((s) => s.text))];
  const summary: string[] = [];
  const udpWorks = obs.length === 0 ? null : obs.some((o) => !o.overTcp && (o.tunnel || o.seenAs !== null));

  if (obs.length === 0) {
    summary.push('No lighthouse is configured, so nobody can tell how this host looks from outside.');
    return { udpWorks, behindNat: null, mapping: 'unknown', portPreserving: null, publicAddresses, summary };
  }
  const overTcp = obs.filter((o) => o.overTcp && o.tunnel).map((o) => o.name ?? o.vpnIp);
  if (!udpWorks && overTcp.length > 0) {
    summary.push(
      `UDP blocked: no lighthouse answers over UDP. TCP to ${overTcp.join(', ')} works: peers reach this node through relays over tcp.`,
    );
    return { udpWorks, behindNat: null, mapping: 'unknown', portPreserving: null, publicAddresses: [], summary };
  }
  if (!udpWorks) {
    summary.push(
      `No lighthouse could be reached over UDP: outbound UDP from port ${input.localPort} may be blocked, or the lighthouses are down. ` +
        'Check the firewall and the lighthouse addresses in static_host_map.',
    );
    return { udpWorks, behindNat: null, mapping: 'unknown', portPreserving: null, publicAddresses, summary };
  }
  summary.push('UDP works: at least one lighthouse answered.');
  if (seen.length === 0) {
    summary.push(
      'No lighthouse reported the address it sees (a Nebula lighthouse does not answer this question), so the NAT type is unknown.',
    );
    return { udpWorks, behindNat: null, mapping: 'unknown', portPreserving: null, publicAddresses, summary };
  }

  const behindNat = seen.some((s) => !input.localIps.includes(s.ip));
  const portPreserving = seen.every((s) => s.port === input.localPort);
  let mapping: MappingKind = 'unknown';
  const nat = input.natTest ?? null;
  if (!behindNat) mapping = 'endpoint-independent';
  else if (seen.length >= 2) {
    if (publicAddresses.length === 1) mapping = 'endpoint-independent';
    else if (new Set(seen.map((s) => s.port)).size > 1) mapping = 'endpoint-dependent';
  }
  // Two lighthouses that agree say more than one lighthouse's two ports; a symmetric verdict from either stands.
  if (behindNat && nat && (mapping === 'unknown' || nat.mapping === 'endpoint-dependent')) mapping = nat.mapping;
  const second = nat?.seenSecond ? `${nat.seenSecond.address}:${nat.seenSecond.port}` : null;

  if (!behindNat) {
    summary.push(
      `No NAT: the lighthouses see this host at its own address (${publicAddresses.join(', ')}). ` +
        `Peers can connect directly if no firewall blocks UDP port ${input.localPort} inbound.`,
    );
  } else if (mapping === 'endpoint-independent') {
    const where =
      seen.length >= 2
        ? `every lighthouse sees ${publicAddresses[0]}`
        : `both ports of ${seen[0].lh} see ${publicAddresses[0]}`;
    summary.push(
      `Behind a NAT with endpoint-independent mapping: ${where}. ` +
        'Hole punching should work, so direct paths to most peers are likely.',
    );
  } else if (mapping === 'endpoint-dependent') {
    const where =
      publicAddresses.length >= 2 || !second
        ? `the lighthouses see different ports (${seen.map((s) => `${s.lh}: ${s.text}`).join(', ')})`
        : `${seen[0].lh} sees ${seen[0].text} at its main port and ${second} at its second port`;
    summary.push(
      `Behind a symmetric NAT (address-and-port-dependent mapping: a new public port for every destination): ${where}. ` +
        `Peers behind other NATs will usually need a relay or birthday punching: set relay.relays, or forward UDP port ${input.localPort} to this host.`,
    );
  } else if (seen.length === 1) {
    summary.push(
      `Behind a NAT: ${seen[0].lh} sees ${seen[0].text}. Only one lighthouse reported, so whether the mapping depends on the destination is unknown; ` +
        'a second lighthouse would tell.',
    );
  } else {
    summary.push(
      `Behind a NAT that uses several public addresses (${publicAddresses.join(', ')}); the mapping type is unclear.`,
    );
  }
  if (behindNat && portPreserving) summary.push(`The NAT keeps the source port (${input.localPort}).`);
  if (behindNat && !portPreserving && mapping !== 'endpoint-dependent')
    summary.push(
      `The NAT changes the source port (${input.localPort} -> ${[...new Set(seen.map((s) => s.port))].join(', ')}).`,
    );
  const filtering = nat?.filtering ?? 'unknown';
  if (filtering === 'address-dependent') {
    summary.push('Filtering is address-dependent or looser: a packet from a lighthouse port we never sent to got in.');
  } else if (filtering === 'address-and-port-dependent') {
    summary.push(
      'Filtering is address-and-port-dependent: only replies from exactly where we sent get in, so both sides must punch (mesh does).',
    );
  } else if (behindNat)
    summary.push('Filtering behaviour was not measured (no lighthouse with a second port answered).');
  const punchTtl = nat?.punchTtl ?? null;
  if (punchTtl !== null) {
    summary.push(
      `Punches go out with IP TTL ${punchTtl}: the outermost NAT is ${punchTtl - 1} hop${punchTtl === 2 ? '' : 's'} away.`,
    );
  }
  return {
    udpWorks,
    behindNat,
    mapping,
    filtering,
    punchTtl: nat ? punchTtl : undefined,
    portPreserving,
    publicAddresses,
    summary,
  };
}
