import { availableParallelism, loadavg } from 'node:os';

// For the failure message of a timing bound the test keeps because the bound is a product goal (a first reply within
// 30 ms, a recovery within 2 s): how busy the machine was when it was missed, so that a miss on a loaded CI machine
// reads as that and is not taken for a regression (or the other way round).

/** The 1-minute load average against the CPU count, and what a load above it means for a timing bound. */
export function loadNote(): string {
  const [oneMinute] = loadavg();
  const cpus = availableParallelism();
  const note = `load average ${oneMinute.toFixed(1)} on ${cpus} CPUs`;
  return oneMinute > cpus
    ? `${note}: more runnable processes than CPUs, so a bound missed by a little is likely the machine, not the code`
    : `${note}: not a loaded machine`;
}
