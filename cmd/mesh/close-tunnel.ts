// `mesh close-tunnel HOST`: tears the tunnel down on both sides (the peer is told); the next packet for HOST
// makes a new one.

import type { CloseTunnelReply } from '../../pkg/control/reports.js';
import type { CliIo } from './cli-io.js';
import { hostArgument, runClientCommand } from './client-command.js';

export const closeTunnelSummary = 'close the tunnel to HOST (overlay IP or certificate name)';

export function closeTunnelCommand(argv: string[], io: CliIo): Promise<number> {
  return runClientCommand('mesh close-tunnel [flags] HOST', closeTunnelSummary, {}, argv, io, async (flags, client) => {
    const reply = await client.request<CloseTunnelReply>('close-tunnel', { host: hostArgument(flags) });
    io.stdout(`closed the tunnel to ${reply.name} (${reply.vpnIp})\n`);
    return 0;
  });
}
