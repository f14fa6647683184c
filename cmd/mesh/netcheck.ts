// `mesh netcheck [-json]`: this node's public address(es) as each lighthouse sees them, and what that says
// about the NAT, in plain words.

import type { NetcheckReport } from '../../pkg/control/reports.js';
import { renderNetcheck } from '../../pkg/control/render-netcheck.js';
import type { CliIo } from './cli-io.js';
import { printJson, runClientCommand } from './client-command.js';
import { durationMsFlag } from './flags.js';

export const netcheckSummary = 'ask the lighthouses how they see this node and describe its NAT';

export function netcheckCommand(argv: string[], io: CliIo): Promise<number> {
  const specs = {
    json: { type: 'boolean', describe: 'print JSON for scripts' },
    timeout: { type: 'string', value: 'DURATION', describe: 'how long to wait for each lighthouse (default 3s)' },
  } as const;
  return runClientCommand('mesh netcheck [flags]', netcheckSummary, specs, argv, io, async (flags, client) => {
    const timeoutMs = durationMsFlag(flags, 'timeout', 3000);
    const report = await client.request<NetcheckReport>('netcheck', { timeoutMs }, 2 * timeoutMs + 10_000);
    if (flags.values.json) printJson(io, report);
    else io.stdout(renderNetcheck(report));
    return report.verdict.udpWorks === false ? 1 : 0;
  });
}
