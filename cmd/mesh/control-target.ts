// Finds the daemon a client subcommand talks to: `-socket PATH`, or the socket of the daemon started with
// `-config PATH` (its `control.socket`, else the path derived from the config path; see pkg/control/socket-path.ts).

import { lstatSync } from 'node:fs';
import { loadConfig } from '../../pkg/config/index.js';
import { ControlClient } from '../../pkg/control/client.js';
import { ControlError, ControlErrorCode } from '../../pkg/control/protocol.js';
import { configuredSocketPath, defaultSocketPaths } from '../../pkg/control/socket-path.js';
import { configBaseDir } from '../../pkg/daemon/daemon.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { stringFlag, type ParsedFlags } from './flags.js';

function firstPresent(paths: string[]): string {
  let denied: string | null = null;
  for (const p of paths) {
    try {
      lstatSync(p);
      return p;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Root's /run/mesh is closed to others; a daemon of our own may still be at the next candidate.
      if (code === 'EACCES' || code === 'EPERM') denied ??= p;
    }
  }
  if (denied !== null) {
    throw new ControlError(
      ControlErrorCode.denied,
      `permission denied on ${denied}: the control socket is for root (the daemon's user) only`,
    );
  }
  throw new ControlError(
    ControlErrorCode.notRunning,
    `no daemon is running with this config (no socket at ${paths.join(' or ')})`,
  );
}

export function socketPathFor(flags: ParsedFlags): string {
  const socket = stringFlag(flags, 'socket');
  if (socket) return socket;
  const config = stringFlag(flags, 'config');
  if (!config) throw new CliError("-config PATH (the daemon's config) or -socket PATH is required");
  let configured: string | undefined;
  try {
    configured = loadConfig(config).config.control.socket;
  } catch (e) {
    // A config broken since the daemon started must not stop `mesh reload` from reaching it and hearing why.
    try {
      return firstPresent(defaultSocketPaths(config));
    } catch {
      throw new CliError(`cannot read the config to find the daemon: ${(e as Error).message}`);
    }
  }
  return configured
    ? configuredSocketPath(configured, configBaseDir(config))
    : firstPresent(defaultSocketPaths(config));
}

export function connectDaemon(flags: ParsedFlags): Promise<ControlClient> {
  return ControlClient.connect(socketPathFor(flags));
}
