// Merging the files of a config directory, in lexical order, the way Nebula 1.6.1 does (mergo.Merge with
// WithAppendSlice, the newer file as destination):
//   * maps merge key by key, recursively;
//   * lists are concatenated, the newer file's items FIRST (so firewall rules split over files all apply);
//   * for anything else the newer file wins.
// One deliberate difference: in Nebula a newer `false`, `0` or `""` does not replace an older value (mergo treats
// them as "empty"); here it does. A null / absent value never replaces anything, as in Nebula.

import type { SourceNode, YamlDocument } from './yaml-source.js';

export function mergeDocuments(older: YamlDocument, newer: YamlDocument): YamlDocument {
  const [value, source] = mergeValues(older.value, older.source, newer.value, newer.source);
  // The merge walks newer's tree once, so it costs what newer expands to (bounded in yaml-source.ts); its result
  // is no larger than both together.
  return {
    value: value as Record<string, unknown>,
    source: source!,
    expandedSize: older.expandedSize + newer.expandedSize,
  };
}

type Placed = [unknown, SourceNode | undefined];

function mergeValues(
  older: unknown,
  olderSrc: SourceNode | undefined,
  newer: unknown,
  newerSrc: SourceNode | undefined,
): Placed {
  if (newer === null || newer === undefined) return [older, olderSrc];
  if (isMap(older) && isMap(newer)) return mergeMaps(older, olderSrc, newer, newerSrc);
  if (Array.isArray(older) && Array.isArray(newer)) {
    const items = [
      ...(newerSrc?.items ?? newer.map(() => newerSrc!)),
      ...(olderSrc?.items ?? older.map(() => olderSrc!)),
    ];
    return [[...newer, ...older], newerSrc && { ...newerSrc, items }];
  }
  return [newer, newerSrc];
}

function mergeMaps(
  older: Record<string, unknown>,
  olderSrc: SourceNode | undefined,
  newer: Record<string, unknown>,
  newerSrc: SourceNode | undefined,
): Placed {
  const out: Record<string, unknown> = {};
  const entries = new Map(olderSrc?.entries);
  for (const [key, value] of Object.entries(older)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(newer)) {
    const [merged, src] = mergeValues(
      Object.hasOwn(out, key) ? out[key] : undefined,
      entries.get(key),
      value,
      newerSrc?.entries?.get(key),
    );
    setOwn(out, key, merged);
    if (src) entries.set(key, src);
  }
  const place = newerSrc ?? olderSrc;
  return [out, place && { file: place.file, line: place.line, entries }];
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Plain assignment of a key named "__proto__" would change the object's prototype instead of adding a key.
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
