// `mesh` reads its first argument: a command name runs that client subcommand against a running daemon;
// anything else is the daemon's own flags (`mesh -config PATH`), as Nebula has it.

import type { CliIo, Subcommand } from './cli-io.js';
import { closeTunnelCommand, closeTunnelSummary } from './close-tunnel.js';
import { daemonCommand } from './daemon-command.js';
import { netcheckCommand, netcheckSummary } from './netcheck.js';
import { pingCommand, pingSummary } from './ping.js';
import { printCertCommand, printCertSummary } from './print-cert.js';
import { reloadCommand, reloadSummary } from './reload.js';
import { statusCommand, statusSummary } from './status.js';

export const COMMANDS: Record<string, { run: Subcommand; summary: string }> = {
  status: { run: statusCommand, summary: statusSummary },
  ping: { run: pingCommand, summary: pingSummary },
  netcheck: { run: netcheckCommand, summary: netcheckSummary },
  reload: { run: reloadCommand, summary: reloadSummary },
  'print-cert': { run: printCertCommand, summary: printCertSummary },
  'close-tunnel': { run: closeTunnelCommand, summary: closeTunnelSummary },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}\n`);
  return (
    'Usage:\n' +
    '  mesh -config PATH          run the daemon (SIGHUP reloads)\n' +
    '  mesh -config PATH -test    check the config and certificates\n' +
    '  mesh -version\n' +
    '  mesh <command> -config PATH [flags]\n\n' +
    'Commands (clients of the daemon started with the same -config; root only):\n' +
    lines.join('')
  );
}

export function runMesh(argv: string[], io: CliIo): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '-help' || first === '--help' || first === 'help') {
    io[first === undefined ? 'stderr' : 'stdout'](usage());
    return Promise.resolve(first === undefined ? 1 : 0);
  }
  if (!first.startsWith('-')) {
    const entry = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!entry) {
      io.stderr(`mesh: unknown command ${JSON.stringify(first)}\n\n${usage()}`);
      return Promise.resolve(1);
    }
    return entry.run(argv.slice(1), io);
  }
  return daemonCommand(argv, io);
}
