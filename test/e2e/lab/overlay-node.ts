import type { Host, Lab } from './lab.js';
import type { LabProcess } from './process.js';

// What it takes to run one overlay implementation in the lab. Nebula is one (nebula.ts); mesh is added the same way:
//
//   export const meshImpl: OverlayImpl = {
//     name: 'mesh',
//     command: (configPath) => ({ cmd: process.execPath, args: [resolve('dist/bin/mesh.cjs'), '-config', configPath] }),
//     ready: /<the line mesh logs once its tun and socket are up>/,
//   };
//   export const startMesh = (lab: Lab, host: Host, configPath: string, options?: StartNodeOptions) =>
//     startNode(lab, host, meshImpl, configPath, options);
//
// and OverlayNet.start(host, { impl: meshImpl, … }) then mixes mesh and nebula nodes in one overlay.

export interface OverlayImpl {
  readonly name: string;
  command(configPath: string): { cmd: string; args: string[] };
  /** A log line meaning the node is up: config loaded, tun configured, UDP socket bound. */
  readonly ready: RegExp;
}

export interface StartNodeOptions {
  /** Default 10 s. */
  readyTimeoutMs?: number;
  /** false: return as soon as the process runs, without waiting for `ready`. */
  wait?: boolean;
  logFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `impl` with `configPath` inside `host` and (by default) waits for its ready line. */
export async function startNode(
  lab: Lab,
  host: Host,
  impl: OverlayImpl,
  configPath: string,
  options: StartNodeOptions = {},
): Promise<LabProcess> {
  const { cmd, args } = impl.command(configPath);
  const proc = await lab.spawn(host, cmd, args, { logFile: options.logFile, env: options.env });
  if (options.wait ?? true) await proc.waitForLog(impl.ready, options.readyTimeoutMs ?? 10_000);
  return proc;
}
