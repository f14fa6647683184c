// `mesh status [-json]`: peers with their path, RTT, traffic and certificate expiry; lighthouses; this node.

import type { StatusReport } from '../../pkg/control/reports.js';
import { renderStatus } from '../../pkg/control/render-status.js';
import type { CliIo } from './cli-io.js';
import { printJson, runClientCommand } from './client-command.js';
import { durationMsFlag } from './flags.js';

export const statusSummary = 'show peers (path, RTT, traffic, certificate expiry), lighthouses and this node';

export function statusCommand(argv: string[], io: CliIo): Promise<number> {
  const specs = {
    json: { type: 'boolean', describe: 'print JSON for scripts' },
    probe: {
      type: 'string',
      value: 'DURATION',
      describe: 'how long to wait for RTT probe replies (default 500ms; 0 = no probes)',
    },
  } as const;
  return runClientCommand('mesh status [flags]', statusSummary, specs, argv, io, async (flags, client) => {
    const probeMs = flags.values.probe === '0' ? 0 : durationMsFlag(flags, 'probe', 500);
    const report = await client.request<StatusReport>('status', { probeMs }, probeMs + 10_000);
    if (flags.values.json) printJson(io, report);
    else io.stdout(renderStatus(report));
    return 0;
  });
}
