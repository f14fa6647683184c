// The arithmetic of bench/contact-stages.ts, apart from its file reading so that it can be tested: where a daemon's
// CPU went during one first contact (latency.ts --parts first --windows), by stage of the contact, from a V8
// .cpuprofile (`node --cpu-prof --cpu-prof-interval 50`) and the contact's window on the monotonic clock.

import type { Profile } from './profile-tally.js';

/** A .cpuprofile with its start on the monotonic clock (µs), the clock process.hrtime reads on Linux. */
export interface TimedProfile extends Profile {
  startTime: number;
}

/**
 * A sample stands for the time since the one before, but on a loaded machine that interval can hold time the
 * process was not running (preempted, the profiler thread itself waiting): no sample counts for more than this.
 */
export const MAX_SAMPLE_US = 100;

/** Functions on a stack, root first -> the stage of a first contact they belong to (a's or b's). */
export function stageOf(stack: readonly string[]): string {
  const has = (name: string) => stack.includes(name);
  if (has('(garbage collector)')) return 'GC';
  if (has('(program)')) return 'V8/native outside JS';
  if (has('handleTunPacket')) {
    if (has('queryLighthouse')) return 'TUN read -> lighthouse query';
    if (has('start')) return 'TUN read -> stage 1 build, send';
    return 'TUN read -> route, firewall, seal';
  }
  if (has('onLighthouseMessage')) {
    if (has('start')) return 'lighthouse answer -> stage 1 build, send';
    if (has('punchBack')) return 'punch notification';
    return 'lighthouse message: open, decode, store';
  }
  if (has('handleStage1') || has('handleStage2')) {
    const stage = has('handleStage1') ? 'stage 1 (responder)' : 'stage 2 (initiator)';
    if (has('verifyPeerCert')) return `${stage}: certificate verify`;
    if (has('readMessage2') || has('writeMessage2')) return `${stage}: noise (DH, key import, HKDF, AEAD)`;
    if (has('sendToHost')) return `${stage}: queued packet (firewall, seal, send)`;
    if (has('complete')) return `${stage}: complete (hostmap, AEAD contexts, timers, logs)`;
    return `${stage}: other (parse, policy)`;
  }
  if (has('writeBatch') || has('writeToTun')) return 'data: TUN write';
  if (has('handleTunnelPacket') || has('openedData')) return 'data: open, firewall';
  if (has('handleUdpPacket')) return 'UDP: other';
  if (stack.some((name) => name === 'flush' || name === 'flushNow')) return 'end-of-turn flushes (sendmmsg)';
  return 'other';
}

/** Busy µs per stage of the samples taken within [fromUs, toUs] (monotonic), idle left out; 'total' is their sum. */
export function stagesOf(profile: TimedProfile, fromUs: number, toUs: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const stages = new Map<string, number>([['total', 0]]);
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const leaf = profile.samples[i]!;
    if (byId.get(leaf)?.callFrame.functionName === '(idle)') continue;
    // The time until the next sample is what this one's stack was running.
    const us = Math.min(MAX_SAMPLE_US, profile.timeDeltas[i + 1] ?? MAX_SAMPLE_US);
    const stack: string[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parentOf.get(id)) {
      stack.push(byId.get(id)?.callFrame.functionName ?? '');
    }
    const stage = stageOf(stack.reverse());
    stages.set(stage, (stages.get(stage) ?? 0) + us);
    stages.set('total', stages.get('total')! + us);
  }
  return stages;
}

/** One contact as latency.ts --windows prints it. */
export interface ContactWindowLine {
  a: number;
  b: number;
  fromUs: number;
  toUs: number;
}

/** The `contact window` lines of a latency.ts --windows log. */
export function parseWindows(log: string): ContactWindowLine[] {
  const re = /contact window: a pid (\d+), b pid (\d+), monotonic (\d+)-(\d+) us/g;
  return [...log.matchAll(re)].map((m) => ({
    a: Number(m[1]),
    b: Number(m[2]),
    fromUs: Number(m[3]),
    toUs: Number(m[4]),
  }));
}
