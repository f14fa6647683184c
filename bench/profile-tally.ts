// The arithmetic of bench/profile-summary.ts, apart from its file reading and printing so that it can be tested: a
// V8 .cpuprofile's samples within a time window, added up per function (self time) and, when asked, per function on
// the sampled stack (inclusive time, each function once per sample however deep it recurses).

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A .cpuprofile as `node --cpu-prof` writes it. */
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds from the previous sample (the first: from the profile's start) to each sample. */
  timeDeltas: number[];
}

export interface TallyOptions {
  /** Only samples taken within [fromUs, toUs] of the profile's start count. */
  fromUs: number;
  toUs: number;
  inclusive: boolean;
}

export interface ProfileTally {
  /** Function name (with its file and line) -> microseconds sampled in it. */
  self: Map<string, number>;
  /** Function name -> microseconds sampled in it or in what it called; empty unless asked for. */
  inclusive: Map<string, number>;
  /** All the window's sampled time, idle included. */
  totalUs: number;
  /** Of which '(idle)'. */
  idleUs: number;
  /** When the window's first and last samples were taken (µs from the start); null when it has none. */
  span: { firstUs: number; lastUs: number } | null;
}

/** "name file:line" as the summary prints it, paths from dist/ or node_modules/ on. */
export function nameOf(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${url.replace(/^.*\/(dist|node_modules)\//, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

export function tallyProfile(profile: Profile, options: TallyOptions): ProfileTally {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

  // Sample i is taken at the sum of the deltas up to it, and stands for the time since the one before.
  const selfById = new Map<number, number>();
  let at = 0;
  let firstUs = Infinity;
  let lastUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < options.fromUs || at > options.toUs) continue;
    firstUs = Math.min(firstUs, at);
    lastUs = at;
    const id = profile.samples[i]!;
    selfById.set(id, (selfById.get(id) ?? 0) + delta);
  }

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfById) {
    const n = byId.get(id);
    if (!n) continue;
    const key = nameOf(n);
    self.set(key, (self.get(key) ?? 0) + us);
    totalUs += us;
    if (!options.inclusive || key === '(idle)') continue;
    // Each function on the stack once (recursion would count it twice).
    const seen = new Set<string>();
    for (let p: number | undefined = id; p !== undefined; p = parentOf.get(p)) {
      const name = nameOf(byId.get(p)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const span = firstUs === Infinity ? null : { firstUs, lastUs };
  return { self, inclusive, totalUs, idleUs: self.get('(idle)') ?? 0, span };
}
