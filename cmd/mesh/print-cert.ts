// `mesh print-cert [-json] [HOST]`: the running node's certificate, or the one a peer presented.

import type { PrintCertReply } from '../../pkg/control/reports.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import type { CliIo } from './cli-io.js';
import { printJson, runClientCommand } from './client-command.js';

export const printCertSummary = "print this node's certificate, or the certificate of the peer HOST";

export function printCertCommand(argv: string[], io: CliIo): Promise<number> {
  const specs = { json: { type: 'boolean', describe: 'print the certificate as JSON' } } as const;
  return runClientCommand(
    'mesh print-cert [flags] [HOST]',
    printCertSummary,
    specs,
    argv,
    io,
    async (flags, client) => {
      if (flags.positionals.length > 1) throw new CliError('give at most one HOST');
      const reply = await client.request<PrintCertReply>('print-cert', { host: flags.positionals[0] });
      if (flags.values.json) printJson(io, reply.json);
      else io.stdout(reply.text + '\n');
      return 0;
    },
  );
}
