// Walks the raw (merged) settings for the section readers: finds a key, says where it was written, builds the
// ConfigError for it, and remembers every key that was asked for so that the rest can be reported as unknown.

import { ConfigError, ConfigErrorCode, describeValue, formatKeyPath } from './errors.js';
import type { KeyPath } from './errors.js';

export interface SourceLocation {
  file: string;
  line: number;
}

/** Finds where a key path was written. */
export type Locator = (path: KeyPath) => SourceLocation | undefined;

interface KnownKeys {
  /** The whole subtree is accepted as is (kept raw for another package). */
  whole: boolean;
  children: Map<string, KnownKeys>;
}

export class ConfigReader {
  readonly warnings: string[] = [];
  private readonly known: KnownKeys = { whole: false, children: new Map() };

  constructor(
    readonly raw: Record<string, unknown>,
    private readonly locator: Locator | undefined,
    /** Named in messages about keys that were never written down (required keys, defaults). */
    private readonly defaultFile: string,
  ) {}

  /** The value at `path`; undefined when absent or null. Throws when something on the way is not a map/list. */
  value(path: KeyPath): unknown {
    this.markKnown(path, false);
    let current: unknown = this.raw;
    for (let i = 0; i < path.length; i++) {
      if (current === undefined || current === null) return undefined;
      const part = path[i];
      if (typeof part === 'number') {
        if (!Array.isArray(current)) throw this.typeError(path.slice(0, i), 'a list', current);
        current = current[part];
      } else {
        if (!isMap(current)) throw this.typeError(path.slice(0, i), 'a map', current);
        current = Object.hasOwn(current, part) ? current[part] : undefined;
      }
    }
    return current === null ? undefined : current;
  }

  has(path: KeyPath): boolean {
    return this.value(path) !== undefined;
  }

  /** Accepts everything below `path` without unknown-key warnings (sections another package validates). */
  keepRaw(path: KeyPath): void {
    this.markKnown(path, true);
  }

  locate(path: KeyPath): SourceLocation | undefined {
    return this.locator?.(path);
  }

  error(code: ConfigErrorCode, path: KeyPath, detail: string): ConfigError {
    const at = this.locate(path);
    return new ConfigError(
      code,
      { file: at?.file ?? this.defaultFile, line: at?.line, key: formatKeyPath(path) },
      detail,
    );
  }

  typeError(path: KeyPath, expected: string, got: unknown): ConfigError {
    return this.error(ConfigErrorCode.type, path, `expected ${expected}, got ${describeValue(got)}`);
  }

  warn(path: KeyPath, detail: string): void {
    const at = this.locate(path);
    const where = at ? `${at.file}:${at.line}` : this.defaultFile;
    this.warnings.push(`${where}: ${formatKeyPath(path)}: ${detail}`);
  }

  /** Adds a warning for every key in a map that no reader asked for. Lists are not entered: their items are
   * checked by whoever reads them. */
  warnUnknownKeys(): void {
    const walk = (value: Record<string, unknown>, known: KnownKeys, path: string[]): void => {
      for (const [key, child] of Object.entries(value)) {
        const knownChild = known.children.get(key);
        if (!knownChild) this.warn([...path, key], 'unknown key (ignored)');
        else if (!knownChild.whole && isMap(child)) walk(child, knownChild, [...path, key]);
      }
    };
    walk(this.raw, this.known, []);
  }

  private markKnown(path: KeyPath, whole: boolean): void {
    let node = this.known;
    for (const part of path) {
      if (typeof part === 'number') return; // inside a list: not walked for unknown keys
      let next = node.children.get(part);
      if (!next) {
        next = { whole: false, children: new Map() };
        node.children.set(part, next);
      }
      node = next;
    }
    if (whole) node.whole = true;
  }
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
