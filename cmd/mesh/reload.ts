// `mesh reload`: what SIGHUP does, with the answer: applied (and what waits for a restart), or refused and why.

import type { ReloadReply } from '../../pkg/control/reports.js';
import type { CliIo } from './cli-io.js';
import { runClientCommand } from './client-command.js';

export const reloadSummary = 'reload the config (same as SIGHUP); a refused config keeps the running one';

export function reloadCommand(argv: string[], io: CliIo): Promise<number> {
  return runClientCommand('mesh reload [flags]', reloadSummary, {}, argv, io, async (_flags, client) => {
    const reply = await client.request<ReloadReply>('reload', {}, 30_000);
    io.stdout('config reloaded\n');
    for (const note of reply.restartNeeded) io.stdout(`changed, applies after a restart: ${note}\n`);
    return 0;
  });
}
