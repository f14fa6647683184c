// V8's major (mark-compact) garbage collections, as events. The re-warm (warm-up-rewarm.ts) counts them: V8 discards
// the bytecode of a function not run during its last few major GCs (--flush-bytecode, on by default in Node 20;
// --bytecode-old-age=5), so the code the warm-up ran goes cold again after that many, however long they take.

import { constants, PerformanceObserver, type NodeGCPerformanceDetail, type PerformanceEntry } from 'node:perf_hooks';

/** A 'gc' entry's kind (Node 16+ puts it in the entry's detail; the typings leave detail off the base class). */
function gcKind(entry: PerformanceEntry): number | undefined {
  return (entry as PerformanceEntry & { detail?: NodeGCPerformanceDetail }).detail?.kind;
}

/** Tells listeners after each major GC. */
export interface MajorGcs {
  onMajorGc(listener: () => void): () => void;
}

/**
 * The process's major GCs, from a perf_hooks 'gc' observer (Node reports each GC as an entry after it ran; the
 * observer holds no handle, so it keeps no process alive). Observed only while someone listens.
 */
export class ProcessMajorGcs implements MajorGcs {
  private readonly listeners = new Set<() => void>();
  private observer: PerformanceObserver | null = null;

  onMajorGc(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.observer === null) {
      this.observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          if (gcKind(entry) !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
          for (const l of [...this.listeners]) l();
        }
      });
      this.observer.observe({ entryTypes: ['gc'] });
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || this.observer === null) return;
      this.observer.disconnect();
      this.observer = null;
    };
  }
}
