// One node's pipeline state (inside-path.ts, outside-path.ts): the node makes one and hands it to the pipelines
// through DataPathContext.pipelines, so every batch, scratch record and cache belongs to exactly one node.

import type { DataPathContext } from './context.js';
import { InsidePath } from './inside-path.js';
import { OutsidePath } from './outside-path.js';

export class Pipelines {
  readonly inside: InsidePath;
  readonly outside: OutsidePath;

  constructor(ctx: DataPathContext) {
    this.inside = new InsidePath(ctx);
    this.outside = new OutsidePath(ctx);
  }
}
