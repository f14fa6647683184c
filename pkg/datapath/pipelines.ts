// One node's pipeline state (inside-path.ts, outside-path.ts): the node makes one and hands it to the pipelines
// through DataPathContext.pipelines, so every batch, scratch record, cache and drop-log budget belongs to exactly one
// node.

import type { DataPathContext } from './context.js';
import { DropLogLimits } from './drop-log.js';
import { InsidePath } from './inside-path.js';
import { LivenessWheel } from './liveness-wheel.js';
import { OutsidePath } from './outside-path.js';

export class Pipelines {
  readonly inside: InsidePath;
  readonly outside: OutsidePath;
  /** The drop lines' rate limits (drop-log.ts). */
  readonly dropLog = new DropLogLimits();
  /** The tunnels whose liveness check is scheduled, by when it is due (liveness.ts). */
  readonly liveness = new LivenessWheel();

  constructor(ctx: DataPathContext) {
    this.inside = new InsidePath(ctx);
    this.outside = new OutsidePath(ctx);
  }
}
