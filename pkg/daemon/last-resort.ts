// The daemon's policy for exceptions nothing else caught (docs/security-model.md):
//
//   - Thrown by a handler of outside input (a datagram, a TUN batch, a DNS query, ...): the socket kinds guard
//     their callbacks (pkg/log/escaped-errors.ts); the input is dropped, counted as drops{<source>-exception} and
//     logged at error level (rate-limited), and the daemon keeps serving.
//   - Escaped everything (uncaughtException, unhandledRejection): the same report under source "process", and the
//     daemon keeps serving. Exiting would turn any bug a remote party can reach into a remote shutdown of every
//     tunnel, repeatable as soon as a supervisor restarted us; state changes happen only after a packet
//     authenticated, so an exception on the way there leaves nothing half-done.
//   - The listen socket or the TUN device can no longer read: that state is known broken (the node is deaf) and
//     nothing in the process can mend it, so the daemon logs it and exits non-zero for a supervisor to restart it.

import { escapedErrors } from '../log/escaped-errors.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';

/** Exit status when a device the node cannot work without failed (EX_IOERR). */
export const EXIT_DEVICE_FAILED = 74;

export interface LastResortTarget {
  log: Logger;
  counters: Counters;
  /** Devices whose read failures end receiving for good (BatchConn, the Linux TUN). */
  devices: Array<{ name: string; device: unknown }>;
}

/** Installs the policy above for this process; returns a function that removes it (tests). */
export function installLastResort(
  target: LastResortTarget,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  const { log, counters } = target;
  const previousSink = escapedErrors.sink;
  const previousOnEach = escapedErrors.onEach;
  escapedErrors.sink = (source, error, suppressed) => {
    log.error('Exception escaped a handler, input dropped, kept serving', {
      source,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      suppressed: suppressed > 0 ? suppressed : undefined,
    });
  };
  escapedErrors.onEach = (source) => counters.inc('drops', `${source}-exception`);
  const onException = (e: unknown): void => escapedErrors.report('process', e);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onException);
  for (const { name, device } of target.devices) {
    const withOnError = device as { onError?: (cb: (err: Error) => void) => void } | null;
    withOnError?.onError?.((err) => {
      log.error('Device can no longer read, exiting for the supervisor to restart the daemon', {
        device: name,
        error: err.message,
      });
      exit(EXIT_DEVICE_FAILED);
    });
  }
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onException);
    escapedErrors.sink = previousSink;
    escapedErrors.onEach = previousOnEach;
  };
}
