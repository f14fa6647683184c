import { execFile } from 'node:child_process';

// Runs one command inside a network namespace (`ip netns exec`), always with a deadline.

export class ExecError extends Error {
  readonly code = 'LAB_EXEC_FAILED';
  override readonly name = 'ExecError';
  constructor(
    message: string,
    readonly result: ExecResult,
  ) {
    super(message);
  }
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status, or null when the command was killed (for example by the timeout). */
  exitCode: number | null;
  signal: string | null;
}

export interface ExecOptions {
  /** Default 10 s; the command is killed with SIGKILL when it runs longer. */
  timeoutMs?: number;
  /** Default true: a non-zero exit rejects with ExecError. */
  check?: boolean;
  /** Written to the command's stdin. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `cmd args` in namespace `ns`; with ns === null it runs in the caller's own namespace. */
export function execIn(
  ns: string | null,
  cmd: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const [file, argv] = ns === null ? [cmd, [...args]] : ['ip', ['netns', 'exec', ns, cmd, ...args]];
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: options.env, cwd: options.cwd },
      (err, stdout, stderr) => {
        const errno = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string }) | null;
        const result: ExecResult = {
          stdout: String(stdout),
          stderr: String(stderr),
          exitCode: errno === null ? 0 : typeof errno.code === 'number' ? errno.code : null,
          signal: errno?.signal ?? null,
        };
        if (errno !== null && typeof errno.code === 'string') {
          reject(new ExecError(`${describe(ns, cmd, args)}: ${errno.message}`, result));
          return;
        }
        if (errno !== null && (options.check ?? true)) {
          const why =
            result.exitCode === null
              ? `killed by ${result.signal} (timeout ${timeoutMs} ms?)`
              : `exit ${result.exitCode}`;
          reject(
            new ExecError(
              `${describe(ns, cmd, args)}: ${why}: ${result.stderr.trim() || result.stdout.trim()}`,
              result,
            ),
          );
          return;
        }
        resolve(result);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

function describe(ns: string | null, cmd: string, args: readonly string[]): string {
  const full = [cmd, ...args].join(' ');
  const line = full.length > 200 ? `${full.slice(0, 200)}…` : full;
  return ns === null ? line : `[${ns}] ${line}`;
}
