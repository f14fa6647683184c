// Typed getters over a ConfigReader. Each returns the default when the key is absent and throws a ConfigError naming
// file:line and key when the value is there but wrong: Nebula would silently fall back to the default instead.

import { ConfigErrorCode, describeValue } from './errors.js';
import type { KeyPath } from './errors.js';
import { parseGoDuration } from './duration.js';
import { isMap } from './reader.js';
import type { ConfigReader } from './reader.js';

// Go's strconv.ParseBool plus the y/yes/n/no Nebula adds, and on/off which YAML 1.1 (Nebula's yaml.v2) reads as
// booleans but js-yaml's YAML 1.2 leaves as strings.
const TRUE_WORDS = new Set(['true', 't', '1', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['false', 'f', '0', 'no', 'n', 'off']);

export function readBool(r: ConfigReader, path: KeyPath, fallback: boolean): boolean {
  const v = r.value(path);
  if (v === undefined) return fallback;
  const parsed = parseBool(v);
  if (parsed === undefined) throw r.typeError(path, 'a boolean (true/false, yes/no, on/off)', v);
  return parsed;
}

export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v !== 'string') return undefined;
  const word = v.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

export function readInt(r: ConfigReader, path: KeyPath, fallback: number, min: number, max: number): number {
  const v = r.value(path);
  if (v === undefined) return fallback;
  return checkInt(r, path, v, min, max);
}

/** Like readInt for a value already in hand (list items, map values). */
export function checkInt(r: ConfigReader, path: KeyPath, v: unknown, min: number, max: number): number {
  const expected = max === Infinity ? `an integer >= ${min}` : `an integer ${min}-${max}`;
  let n: number;
  if (typeof v === 'number' && Number.isInteger(v)) n = v;
  else if (typeof v === 'string' && /^[-+]?\d+$/.test(v.trim())) n = Number(v.trim());
  else throw r.typeError(path, expected, v);
  if (n < min || n > max) throw r.error(ConfigErrorCode.range, path, `expected ${expected}, got ${describeValue(v)}`);
  return n;
}

export function readString(r: ConfigReader, path: KeyPath, fallback: string): string {
  const v = r.value(path);
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw r.typeError(path, 'a string', v);
  return v;
}

export function readChoice<T extends string>(
  r: ConfigReader,
  path: KeyPath,
  choices: readonly T[],
  fallback: T,
  ignoreCase = false,
): T {
  const v = r.value(path);
  if (v === undefined) return fallback;
  const expected = `one of ${choices.join(', ')}`;
  if (typeof v !== 'string') throw r.typeError(path, expected, v);
  const word = ignoreCase ? v.toLowerCase() : v;
  const match = choices.find((c) => c === word);
  if (match === undefined) throw r.error(ConfigErrorCode.value, path, `expected ${expected}, got ${describeValue(v)}`);
  return match;
}

export interface DurationOptions {
  /** Nebula reads this key as an integer of seconds: a bare number means seconds. Otherwise only 0 may be bare. */
  bareSeconds?: boolean;
  /** Smallest accepted value in ms (default 0: negatives are refused). */
  minMs?: number;
}

export function readDurationMs(
  r: ConfigReader,
  path: KeyPath,
  fallbackMs: number,
  options: DurationOptions = {},
): number {
  const v = r.value(path);
  if (v === undefined) return fallbackMs;
  const expected = options.bareSeconds
    ? 'a number of seconds or a duration like "10s" or "1m30s"'
    : 'a duration like "100ms", "1.5s" or "12m"';
  let ms: number | undefined;
  if (typeof v === 'number') ms = options.bareSeconds ? v * 1000 : v === 0 ? 0 : undefined;
  else if (typeof v === 'string') {
    const text = v.trim();
    ms = options.bareSeconds && /^[-+]?\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseGoDuration(text);
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    const code = typeof v === 'string' || typeof v === 'number' ? ConfigErrorCode.value : ConfigErrorCode.type;
    throw r.error(code, path, `expected ${expected}, got ${describeValue(v)}`);
  }
  const min = options.minMs ?? 0;
  if (ms < min) {
    const limit = min === 0 ? 'must not be negative' : `must be at least ${min}ms`;
    throw r.error(ConfigErrorCode.range, path, `${limit}, got ${describeValue(v)}`);
  }
  return ms;
}

/** A list of strings; [] when absent. */
export function readStringList(r: ConfigReader, path: KeyPath): string[] {
  const v = r.value(path);
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw r.typeError(path, 'a list of strings', v);
  return v.map((item, i) => {
    if (typeof item !== 'string') throw r.typeError([...path, i], 'a string', item);
    return item;
  });
}

export function readMap(r: ConfigReader, path: KeyPath): Record<string, unknown> | undefined {
  const v = r.value(path);
  if (v === undefined) return undefined;
  if (!isMap(v)) throw r.typeError(path, 'a map', v);
  return v;
}

export function readList(r: ConfigReader, path: KeyPath): unknown[] | undefined {
  const v = r.value(path);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw r.typeError(path, 'a list', v);
  return v;
}
