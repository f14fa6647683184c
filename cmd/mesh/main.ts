#!/usr/bin/env node
// `mesh -config PATH` runs the daemon; `-test` only validates; `-version` prints the version.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { normalizeGoFlags } from '../../pkg/cli/goflags.js';
import { prepare, reloadDaemon, startDaemon } from '../../pkg/daemon/daemon.js';

function version(): string {
  const pkgPath = fileURLToPath(new URL('../../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}

async function main(): Promise<number> {
  const args = await yargs(normalizeGoFlags(process.argv.slice(2)))
    .scriptName('mesh')
    .usage('Usage: mesh -config PATH [-test]')
    .version(false)
    .option('config', { type: 'string', describe: 'config file or directory of *.yml files' })
    .option('test', { type: 'boolean', describe: 'validate the config and certificates, then exit' })
    .option('version', { type: 'boolean', describe: 'print the version and exit' })
    .help('help')
    .alias('help', 'h')
    .strict()
    .parseAsync();
  if (args.version) {
    process.stdout.write(`Version: ${version()}\n`);
    return 0;
  }
  if (!args.config) {
    process.stderr.write('mesh: -config is required\n');
    return 1;
  }
  if (args.test) {
    prepare(args.config);
    process.stdout.write(`${args.config}: config and certificates are valid\n`);
    return 0;
  }
  const node = await startDaemon(args.config);
  const shutdown = (signal: string): void => {
    node.log.info('Caught signal, shutting down', { signal });
    void node.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    node.log.info('Caught HUP, reloading config');
    void reloadDaemon(node, args.config as string);
  });
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: Error) => {
    process.stderr.write(`mesh: ${e.message}\n`);
    process.exit(1);
  },
);
