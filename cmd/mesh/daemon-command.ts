// `mesh -config PATH` runs the daemon until SIGTERM/SIGINT (SIGHUP reloads); `-test` only validates the config
// and certificates; `-version` prints the version.

import { Daemon, prepare } from '../../pkg/daemon/daemon.js';
import { installLastResort } from '../../pkg/daemon/last-resort.js';
import { ProcessMajorGcs } from '../../pkg/daemon/major-gcs.js';
import { warmUp } from '../../pkg/daemon/warm-up.js';
import { scheduleRewarm } from '../../pkg/daemon/warm-up-rewarm.js';
import { scheduleWarmUp } from '../../pkg/daemon/warm-up-schedule.js';
import { capYoungGeneration } from '../../pkg/daemon/young-generation.js';
import { feedbackFromFirstCall } from '../../pkg/launch/eager-feedback.js';
import { tierUpSooner } from '../../pkg/launch/tier-up.js';
import { version } from '../../pkg/version/version.js';
import type { CliIo } from './cli-io.js';
import { parseFlags, stringFlag } from './flags.js';

const SPECS = {
  config: { type: 'string', value: 'PATH', describe: 'config file or directory of *.yml files' },
  test: { type: 'boolean', describe: 'validate the config and certificates, then exit' },
  version: { type: 'boolean', describe: 'print the version and exit' },
} as const;

export async function daemonCommand(argv: string[], io: CliIo): Promise<number> {
  const flags = parseFlags(
    'mesh -config PATH [-test]',
    'Run the mesh daemon, or: mesh <command> -h (see mesh -h for commands)',
    SPECS,
    argv,
    io,
  );
  if (typeof flags === 'number') return flags;
  if (flags.values.version) {
    io.stdout(`Version: ${version()}\n`);
    return 0;
  }
  const configPath = stringFlag(flags, 'config');
  if (!configPath) {
    io.stderr('mesh: -config is required\n');
    return 1;
  }
  if (flags.values.test) {
    prepare(configPath);
    io.stdout(`${configPath}: config and certificates are valid\n`);
    return 0;
  }
  // Before the start: its lighthouse handshakes and the warm-up then leave feedback a first contact runs with.
  const eagerFeedback = feedbackFromFirstCall();
  const daemon = await Daemon.start(configPath);
  // From here on an exception no handler caught is logged and the daemon keeps serving (pkg/daemon/last-resort.ts).
  const { node } = daemon;
  installLastResort({
    log: node.log,
    counters: node.counters,
    devices: [
      { name: 'udp', device: node.udp },
      { name: 'tun', device: node.tun },
    ],
  });
  capYoungGeneration({ amLighthouse: node.lighthouseServer !== null, udp: node.udp });
  const tierUp = tierUpSooner();
  node.log.debug('V8 flags set at start', { eagerFeedback, tierUp });
  // A first contact's code run once in process while idle, so the first real one runs warm (issue 19).
  // MESH_WARM_UP=0 leaves it out, so benchmarks can measure what it costs the steady data path in the same run.
  // Run again later once V8 may have discarded what it warmed (pkg/daemon/warm-up-rewarm.ts).
  const warmUpHost = { tunnels: node.hostmap, clock: node.clock, log: node.log, counters: node.counters };
  const cancelWarmUps =
    process.env.MESH_WARM_UP === '0'
      ? []
      : [scheduleWarmUp(warmUpHost, warmUp), scheduleRewarm(warmUpHost, new ProcessMajorGcs(), warmUp)];
  const cancelWarmUp = (): void => cancelWarmUps.forEach((cancel) => cancel());
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      daemon.node.log.info('Caught signal, shutting down', { signal });
      cancelWarmUp();
      void daemon.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => {
      daemon.node.log.info('Caught HUP, reloading config');
      void daemon.reload();
    });
  });
}
