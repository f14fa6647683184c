// What the lighthouses' view of us says about our NAT, in RFC 4787 terms and in plain words. Mapping is
// endpoint-independent when every lighthouse sees the same public address and port (one mapping for all
// destinations: hole punching works); endpoint-dependent when the port differs per lighthouse (a "symmetric" NAT:
// peers behind other NATs will need a relay). Filtering cannot be told from replies to our own packets, so it
// is reported as not measured.

import type { LighthouseObservation, MappingKind, NatVerdict } from './reports.js';

export interface NatInput {
  localPort: number;
  /** Our own interface addresses (IP only). */
  localIps: string[];
  observations: LighthouseObservation[];
}

function splitAddr(text: string): { ip: string; port: number } {
  const i = text.lastIndexOf(':');
  return { ip: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}

export function classifyNat(input: NatInput): NatVerdict {
  const obs = input.observations;
  const seen = obs.filter((o) => o.seenAs !== null).map((o) => ({ lh: o.name ?? o.vpnIp, ...splitAddr(o.seenAs as string), text: o.seenAs as string }));
  const publicAddresses = [...new Set(seen.map((s) => s.text))];
  const summary: string[] = [];
  const udpWorks = obs.length === 0 ? null : obs.some((o) => o.tunnel || o.seenAs !== null);

  if (obs.length === 0) {
    summary.push('No lighthouse is configured, so nobody can tell how this host looks from outside.');
    return { udpWorks, behindNat: null, mapping: 'unknown', portPreserving: null, publicAddresses, summary };
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
    summary.push('No lighthouse reported the address it sees (a Nebula lighthouse does not answer this question), so the NAT type is unknown.');
    return { udpWorks, behindNat: null, mapping: 'unknown', portPreserving: null, publicAddresses, summary };
  }

  const behindNat = seen.some((s) => !input.localIps.includes(s.ip));
  const portPreserving = seen.every((s) => s.port === input.localPort);
  let mapping: MappingKind = 'unknown';
  if (!behindNat) mapping = 'endpoint-independent';
  else if (seen.length >= 2) {
    if (publicAddresses.length === 1) mapping = 'endpoint-independent';
    else if (new Set(seen.map((s) => s.port)).size > 1) mapping = 'endpoint-dependent';
  }

  if (!behindNat) {
    summary.push(
      `No NAT: the lighthouses see this host at its own address (${publicAddresses.join(', ')}). ` +
        `Peers can connect directly if no firewall blocks UDP port ${input.localPort} inbound.`,
    );
  } else if (mapping === 'endpoint-independent') {
    summary.push(
      `Behind a NAT with endpoint-independent mapping: every lighthouse sees ${publicAddresses[0]}. ` +
        'Hole punching should work, so direct paths to most peers are likely.',
    );
  } else if (mapping === 'endpoint-dependent') {
    summary.push(
      `Behind a symmetric NAT (endpoint-dependent mapping): the lighthouses see different ports (${seen.map((s) => `${s.lh}: ${s.text}`).join(', ')}). ` +
        `Peers behind other NATs will usually need a relay: set relay.relays, or forward UDP port ${input.localPort} to this host.`,
    );
  } else if (seen.length === 1) {
    summary.push(
      `Behind a NAT: ${seen[0].lh} sees ${seen[0].text}. Only one lighthouse reported, so whether the mapping depends on the destination is unknown; ` +
        'a second lighthouse would tell.',
    );
  } else {
    summary.push(`Behind a NAT that uses several public addresses (${publicAddresses.join(', ')}); the mapping type is unclear.`);
  }
  if (behindNat && portPreserving) summary.push(`The NAT keeps the source port (${input.localPort}).`);
  if (behindNat && !portPreserving && mapping !== 'endpoint-dependent') summary.push(`The NAT changes the source port (${input.localPort} -> ${[...new Set(seen.map((s) => s.port))].join(', ')}).`);
  if (behindNat) summary.push('Filtering behaviour was not measured.');
  return { udpWorks, behindNat, mapping, portPreserving, publicAddresses, summary };
}
