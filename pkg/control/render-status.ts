// `mesh status` for a person: this node, its lighthouses, then one row per peer.
//
//   this node  one (10.99.0.1/24), listening on udp 4242: 192.168.7.2:4242; cert expires 2027-11-23 (in 364d)
//   lighthouses
//     lh  10.99.0.9  reachable  192.168.7.9:4242  last heard 2s ago
//   peers
//     NAME  OVERLAY IP  PATH     UNDERLAY          RTT     HANDSHAKE  IN      OUT     CERT EXPIRES
//     two   10.99.0.2   direct   192.168.7.3:4242  0.81ms  12s ago    1.2 KiB 980 B   2027-11-23
//
// A dual-stack host lists all its overlay addresses, comma-separated (10.99.0.2,fd00::2); so does this node's line.

import type { PeerStatus, StatusReport } from './reports.js';
import { portMapLine } from './render-portmap.js';
import { formatRtt, humanAge, humanBytes, textTable } from './text-table.js';

function day(iso: string): string {
  return iso.slice(0, 10);
}

function untilText(iso: string, nowMs: number): string {
  const left = Date.parse(iso) - nowMs;
  return left <= 0 ? 'EXPIRED' : `in ${humanAge(left)}`;
}

function pathText(p: PeerStatus): string {
  const path = p.path === 'direct' ? 'direct' : `relayed via ${p.via ?? '?'}`;
  return p.overTcp ? `${path} over tcp` : path;
}

export function renderStatus(r: StatusReport, nowMs = Date.now()): string {
  const s = r.self;
  const roles = [s.lighthouse ? 'lighthouse' : '', s.relay ? 'relay' : ''].filter(Boolean);
  let out =
    `this node  ${s.name} (${(s.vpnCidrs ?? [s.vpnCidr]).join(', ')})${roles.length ? ` [${roles.join(', ')}]` : ''}, listening on udp ${s.listenPort}: ` +
    `${s.addresses.length ? s.addresses.join(', ') : 'no usable interface address'}; ` +
    `cert expires ${day(s.certExpiresAt)} (${untilText(s.certExpiresAt, nowMs)})\n`;
  if (s.transport === 'tcp') out += 'UDP blocked: lighthouses and relays reached over tcp, peers through relays\n';
  if (r.portmap) out += `port mapping  ${portMapLine(r.portmap)}\n`;

  if (r.lighthouses.length > 0) {
    out += '\nlighthouses\n';
    const rows = r.lighthouses.map((l) => [
      l.name ?? '-',
      l.vpnIp,
      l.reachable ? 'reachable' : 'UNREACHABLE',
      l.remote ?? '-',
      l.lastRecvAgoMs === null ? 'no tunnel' : `last heard ${humanAge(l.lastRecvAgoMs)} ago`,
    ]);
    out += indent(textTable(['name', 'overlay ip', 'state', 'underlay', 'last heard'], rows));
  } else if (!s.lighthouse) {
    out += '\nlighthouses: none configured\n';
  }

  out += '\npeers\n';
  if (r.peers.length === 0) out += '  no tunnels\n';
  else {
    const rows = r.peers.map((p) => [
      p.name,
      (p.vpnAddrs ?? [p.vpnIp]).join(','),
      pathText(p),
      p.remote ?? '-',
      formatRtt(p.rttMs),
      `${humanAge(nowMs - Date.parse(p.handshakeAt))} ago`,
      humanBytes(p.bytesIn),
      humanBytes(p.bytesOut),
      `${day(p.certExpiresAt)} (${untilText(p.certExpiresAt, nowMs)})`,
    ]);
    out += indent(
      textTable(['name', 'overlay ip', 'path', 'underlay', 'rtt', 'handshake', 'in', 'out', 'cert expires'], rows),
    );
  }
  if (r.pending.length > 0) {
    out += '\nhandshaking\n';
    out += indent(
      textTable(
        ['overlay ip', 'attempts', 'for'],
        r.pending.map((p) => [p.vpnIp, String(p.attempts), humanAge(p.ageMs)]),
      ),
    );
  }
  return out;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
}
