// Bounded polling: every wait in the lab has a deadline, so a broken test fails with a message instead of hanging.

export class WaitTimeoutError extends Error {
  readonly code = 'LAB_WAIT_TIMEOUT';
  override readonly name = 'WaitTimeoutError';
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /**
   * Says what was awaited, for the timeout message. A function is called when the wait times out: log tails in a
   * string are those of when the wait began, which hid everything the daemons logged while it ran.
   */
  what?: string | (() => string);
}

/**
 * Calls `probe` until it returns a value other than false/null/undefined, and returns that value.
 * A probe that throws counts as "not yet"; its last error is quoted in the timeout message.
 */
export async function waitFor<T>(
  probe: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitOptions,
): Promise<T> {
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== null && value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
  const what = typeof options.what === 'function' ? options.what() : options.what;
  throw new WaitTimeoutError(`timed out after ${options.timeoutMs} ms waiting for ${what ?? 'condition'}${detail}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
