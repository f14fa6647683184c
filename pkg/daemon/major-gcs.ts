// V8's major (mark-compact) garbage collections, as events. The re-warm (warm-up-rewarm.ts) counts them: V8 discards
// the bytecode of a function not run during its last few major GCs (--flush-bytecode, on by default in Node 20;
// --bytecode-old-age=5), so the code the warm-up ran goes cold again after that many, however long they take.

/** Tells listeners after major GCs (at least one since the last time; two in a row may be told once). */
export interface MajorGcs {
  onMajorGc(listener: () => void): () => void;
}

/**
 * The process's major GCs, seen through a sentinel object registered in a FinalizationRegistry: V8 clears a
 * registry's cells only when it marks the whole heap, never in a scavenge (Node 20, V8 11.3; the unit test
 * warm-up-rewarm checks it), so the sentinel's callback runs after the next major GC, and a new sentinel waits for
 * the one after. It costs nothing per scavenge, which a perf_hooks 'gc' observer does not: that one reports every GC,
 * and on a young generation kept small (young-generation.ts) a busy data path scavenges often (~50 us of CPU more per
 * scavenge with it, in process). Registered only while someone listens; a registry holds no handle.
 */
export class ProcessMajorGcs implements MajorGcs {
  private readonly listeners = new Set<() => void>();
  private readonly registry = new FinalizationRegistry<undefined>(() => this.collected());
  /** The sentinel's unregister token: a sentinel is waiting for a major GC while `armed`. */
  private readonly token = {};
  private armed = false;

  onMajorGc(listener: () => void): () => void {
    this.listeners.add(listener);
    this.arm();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || !this.armed) return;
      this.registry.unregister(this.token);
      this.armed = false;
    };
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    // Unreachable at once: only the next major GC collects it.
    this.registry.register({}, undefined, this.token);
  }

  private collected(): void {
    this.armed = false;
    if (this.listeners.size === 0) return;
    this.arm();
    for (const l of [...this.listeners]) l();
  }
}
