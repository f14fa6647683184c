// The daemon's answer to each control command. Arguments are checked here (a bad one is EBADREQUEST naming it);
// results are the records of reports.ts.

import {
  formatCertificateJson,
  formatCertificateJsonV2,
  formatCertificateText,
  formatCertificateTextV2,
  isCertificateV2,
  type AnyCertificate,
} from '../cert/index.js';
import { formatVpnIp } from '../ip/vpn-ip.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import { runNetcheck } from './netcheck.js';
import { addrText, pathOf, resolveHost, tunnelTo, type ControlledNode } from './node-view.js';
import {
  ControlError,
  ControlErrorCode,
  numberArg,
  optionalStringArg,
  stringArg,
  type Command,
  type ControlRequest,
} from './protocol.js';
import type { CloseTunnelReply, PingReply, PrintCertReply, ReloadReply } from './reports.js';
import type { RttProbes } from './rtt-probes.js';
import type { RequestHandler } from './server.js';
import { buildStatus, probeAll } from './status.js';
import type { Whoami } from './whoami.js';

export interface ControlContext {
  node: ControlledNode;
  probes: RttProbes;
  whoami: Whoami;
  /** Same as SIGHUP; rejects with a ControlError (ERELOAD) saying why when the new config is refused. */
  reload(): Promise<ReloadReply>;
}

type Args = Record<string, unknown>;

async function ping(ctx: ControlContext, args: Args): Promise<PingReply> {
  const timeoutMs = numberArg(args, 'timeoutMs', 2000, 1, 60_000);
  const { vpnIp } = resolveHost(ctx.node, stringArg(args, 'host'));
  const host = await tunnelTo(ctx.node, vpnIp, timeoutMs);
  const r = await ctx.probes.probe(host, timeoutMs);
  const current = pathOf(ctx.node, host);
  // A reply from a peer attached to our TCP listener comes from its virtual address (docs/tcp-fallback.md).
  const fromTcp = r.from !== null && isTcpAddr(r.from);
  // The reply's own path: a UDP source address means direct, otherwise it came through the relay `via`.
  return {
    // The address asked for, as ping(8) prints it (a dual-stack peer pinged by its IPv6 address is named by that).
    vpnIp: formatVpnIp(vpnIp),
    name: host.certName,
    rttMs: r.rttMs,
    path: r.from ? 'direct' : 'relayed',
    remote: r.from ? (fromTcp ? r.from.address : addrText(r.from)) : null,
    via: r.via !== null ? formatVpnIp(r.via) : current.via,
    ...(fromTcp || current.overTcp ? { overTcp: true } : {}),
  };
}

// Ours: the certificate our handshakes start with (as Nebula prints its default one); a peer's: the one it
// presented. A v2 certificate prints as Nebula 1.10 prints it, a v1 one as 1.6.1 (docs/certificates-v2.md).
function printCert(ctx: ControlContext, args: Args): PrintCertReply {
  const name = optionalStringArg(args, 'host');
  const id = ctx.node.identity();
  let cert: AnyCertificate = (id.initiatingVersion === 2 ? id.certs?.v2 : id.certs?.v1) ?? id.cert;
  if (name !== undefined && name !== '') {
    const { vpnIp, host } = resolveHost(ctx.node, name);
    if (host) cert = host.presentedCert;
    else if (!id.vpnAddrs.includes(vpnIp)) throw new ControlError(ControlErrorCode.noHost, `no tunnel to ${name}`);
  }
  if (isCertificateV2(cert))
    return { text: formatCertificateTextV2(cert), json: JSON.parse(formatCertificateJsonV2(cert)) };
  return { text: formatCertificateText(cert), json: JSON.parse(formatCertificateJson(cert)) };
}

function closeTunnel(ctx: ControlContext, args: Args): CloseTunnelReply {
  const text = stringArg(args, 'host');
  const { host } = resolveHost(ctx.node, text);
  if (!host) throw new ControlError(ControlErrorCode.noHost, `no tunnel to ${text}`);
  ctx.node.closeTunnel(host, 'operator', true);
  return { vpnIp: formatVpnIp(host.vpnIp), name: host.certName };
}

const COMMAND_HANDLERS: Record<Command, (ctx: ControlContext, args: Args) => unknown> = {
  status: async (ctx, args) => {
    await probeAll(ctx.node, ctx.probes, numberArg(args, 'probeMs', 500, 0, 10_000));
    return buildStatus(ctx.node, ctx.probes);
  },
  ping,
  netcheck: (ctx, args) => runNetcheck(ctx.node, ctx.probes, ctx.whoami, numberArg(args, 'timeoutMs', 3000, 1, 60_000)),
  reload: (ctx) => ctx.reload(),
  'print-cert': printCert,
  'close-tunnel': closeTunnel,
};

export function controlHandler(ctx: ControlContext): RequestHandler {
  return async (req: ControlRequest) => COMMAND_HANDLERS[req.command](ctx, req.args);
}
