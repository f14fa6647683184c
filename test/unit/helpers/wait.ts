// Bounded polling for tests whose nodes run real timers.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every few milliseconds until it returns a value that is not undefined/null/false; throws on timeout. */
export async function waitFor<T>(
  probe: () => T | undefined | null | false,
  opts: { timeoutMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const deadline = performance.now() + (opts.timeoutMs ?? 3000);
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() > deadline) {
      const what = typeof opts.what === 'function' ? opts.what() : (opts.what ?? 'condition');
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(5);
  }
}
