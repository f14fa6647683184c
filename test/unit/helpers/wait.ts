// Waiting in tests. Nodes on a ManualClock (every protocol timer is on the node's clock, pkg/clock/clock.ts) are
// driven with advanceUntil()/advanceFor(): simulated time moves in steps and the datagrams in flight (a
// MemoryNetwork delivers on microtasks) get a few event-loop turns after each, so nothing sleeps. sleep()/waitFor()
// are for what runs on real time: sockets, child processes, nodes on the system clock.

import { ManualClock, type Clock } from '../../../pkg/clock/clock.js';

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
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${describe(opts.what)}`);
    await sleep(5);
  }
}

/**
 * Lets what is in flight run to its end: `turns` event-loop turns (each drains the microtasks, where a
 * MemoryNetwork's deliveries and the pipelines' batch flushes run). No real time passes beyond the turns.
 *
 * Why a fixed count rather than "until the MemoryNetwork has nothing in flight": its deliveries are microtasks and a
 * turn ends only when the microtask queue is empty, so a datagram, the answer it draws and the answer to that (a
 * chain of any length) are all delivered within the first turn; at a turn's end the network never has anything in
 * flight, so it has nothing to tell. What one turn can leave behind is work that hops to a later macrotask (a
 * setImmediate such as the lighthouse store's spread refresh, an I/O or threadpool callback); the two further turns
 * give such hops room, and a chain of more hops than that runs after the next step. (In-process mesh tests on a
 * ManualClock pass with one turn: recover-idle, path-failover, pipeline-liveness, handshake-cert-versions, relay-mesh.)
 */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export interface AdvanceOptions {
  /** Simulated milliseconds per step (default 10): the timers due in a step run before its deliveries. */
  stepMs?: number;
  /** Simulated milliseconds before giving up (default 3000, as waitFor's real ones). */
  timeoutMs?: number;
  what?: string | (() => string);
}

/**
 * waitFor on simulated time: settles, then advances `clock` a step at a time (settling after each) until `probe`
 * returns a value that is not undefined/null/false; throws once `timeoutMs` of simulated time passed without it.
 */
export async function advanceUntil<T>(
  clock: ManualClock,
  probe: () => T | undefined | null | false,
  opts: AdvanceOptions = {},
): Promise<T> {
  const step = opts.stepMs ?? 10;
  const deadline = clock.now() + (opts.timeoutMs ?? 3000);
  await settle();
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (clock.now() >= deadline) throw new Error(`timed out (simulated) waiting for ${describe(opts.what)}`);
    clock.advance(Math.min(step, deadline - clock.now()));
    await settle();
  }
}

/** Runs `ms` of simulated time on `clock` in steps of `stepMs`, settling after each (deliveries run in between). */
export async function advanceFor(clock: ManualClock, ms: number, stepMs = 10): Promise<void> {
  const end = clock.now() + ms;
  await settle();
  while (clock.now() < end) {
    clock.advance(Math.min(stepMs, end - clock.now()));
    await settle();
  }
}

/**
 * Waits on `clock`'s time: advanceUntil() for a ManualClock, waitFor() in real time for any other. For helpers that
 * are given nodes, not the test's clock (the nodes' clock is `node.clock`).
 */
export function until<T>(
  clock: Clock,
  probe: () => T | undefined | null | false,
  opts: AdvanceOptions = {},
): Promise<T> {
  return clock instanceof ManualClock ? advanceUntil(clock, probe, opts) : waitFor(probe, opts);
}

function describe(what: string | (() => string) | undefined): string {
  return typeof what === 'function' ? what() : (what ?? 'condition');
}
