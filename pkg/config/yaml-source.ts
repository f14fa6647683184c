// Parses one YAML file and remembers where each key and list item was written, so that errors found long after
// parsing (a bad firewall rule, a type error after merging a directory) can still name file:line.
//
// js-yaml has no AST; its `listener` reports every node opening and closing. Nodes closed while another is open are
// its children: a mapping's children alternate key, value; a sequence's children are its items. Two quirks:
// a node opens *before* the whitespace and comments in front of it are skipped (so we skip them ourselves), and a
// plain scalar in a block sequence is first read as a would-be mapping key, so it arrives wrapped in a node with the
// same result (unwrapped below).
//
// Aliases are shared, not copied, by js-yaml, but everything after parsing (merging a directory, reading the
// settings) walks the tree as if they were copies: 9 levels of 9 aliases are 9^9 values. So the listener also
// counts the document's size with every alias counted as a copy and stops at a limit (docs/security-model.md).

import yaml from 'js-yaml';
import { ConfigError, ConfigErrorCode } from './errors.js';

/** Where a value came from. `line` is the key's line for map entries, the item's first line for list items. */
export interface SourceNode {
  file: string;
  line: number;
  entries?: Map<string, SourceNode>;
  items?: SourceNode[];
}

export interface YamlDocument {
  value: Record<string, unknown>;
  source: SourceNode;
  /** Keys, values and list items in the document (a long string one per 64 characters), an alias counting as a
   * copy of what it names. */
  expandedSize: number;
}

/** How many values (see expandedSize) a config may expand to, all files of a directory together. */
export const MAX_EXPANDED_VALUES = 1_000_000;

interface EventNode {
  start: number;
  kind: string | null;
  result: unknown;
  children: EventNode[];
  /** This node's expanded size (itself and everything below it, aliases as copies). */
  size: number;
}

// YAML 1.2 core types (no timestamps, so "2006-01-02" stays a string) plus `<<` merge keys, which Nebula's yaml.v2
// also understands.
// (`types` exists at runtime but is missing from @types/js-yaml.)
const MERGE_TYPE = (yaml as unknown as { types: { merge: yaml.Type } }).types.merge;
const SCHEMA = yaml.CORE_SCHEMA.extend({ implicit: [MERGE_TYPE] });

/**
 * Parses `text` (from `file`). Throws a ConfigError naming file and line when the document expands to more than
 * `maxExpanded` values: the rest of a directory's budget when called for one file of it.
 */
export function parseYamlDocument(text: string, file: string, maxExpanded = MAX_EXPANDED_VALUES): YamlDocument {
  const open: EventNode[] = [];
  let root: EventNode | undefined;
  let value: unknown;
  // The expanded size of each mapping and sequence closed so far; an alias is a node without children whose
  // result is one of these objects.
  const sizes = new WeakMap<object, number>();
  let expanded = 0;
  try {
    value = yaml.load(text, {
      schema: SCHEMA,
      filename: file,
      listener(event, state) {
        if (event === 'open') {
          open.push({ start: state.position, kind: null, result: undefined, children: [], size: 0 });
          return;
        }
        const node = open.pop()!;
        node.kind = state.kind;
        node.result = state.result;
        const aliased = node.children.length === 0 && isObject(node.result) ? sizes.get(node.result) : undefined;
        if (aliased !== undefined) {
          node.size = aliased;
          expanded += aliased;
        } else if (node.children.length === 1 && node.children[0].result === node.result) {
          node.size = node.children[0].size; // a wrapper around its only child (see above): not a value of its own
        } else {
          const own = valueSize(node.result);
          node.size = own;
          for (const child of node.children) node.size += child.size;
          expanded += own;
          if (isObject(node.result)) sizes.set(node.result, node.size);
        }
        // Checked here, while parsing: js-yaml copies the keys of a `<<: *alias` right after this event.
        if (expanded > maxExpanded) throw tooLarge(file, text, state.position, maxExpanded);
        if (open.length > 0) open[open.length - 1].children.push(node);
        else root = node;
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof yaml.YAMLException) {
      const line = err.mark ? err.mark.line + 1 : undefined;
      throw new ConfigError(ConfigErrorCode.syntax, { file, line }, `YAML syntax error: ${err.reason}`);
    }
    throw err;
  }

  if (value === undefined || value === null) {
    throw new ConfigError(ConfigErrorCode.empty, { file }, 'the file holds no settings');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(ConfigErrorCode.type, { file, line: 1 }, 'the top level must be a map of settings');
  }
  const lines = new LineIndex(text);
  const source = root ? toSource(root, file, lines, lines.lineOf(skipBlank(text, root.start))) : { file, line: 1 };
  return { value: value as Record<string, unknown>, source, expandedSize: expanded };
}

/** A value counts 1, a long string one more per 64 characters: an alias to a long string copies it too. */
function valueSize(v: unknown): number {
  return typeof v === 'string' ? 1 + (v.length >> 6) : 1;
}

function isObject(v: unknown): v is object {
  return v !== null && typeof v === 'object';
}

function tooLarge(file: string, text: string, position: number, limit: number): ConfigError {
  const line = new LineIndex(text).lineOf(Math.min(position, text.length));
  const what =
    limit === MAX_EXPANDED_VALUES ? `${limit} values` : `${MAX_EXPANDED_VALUES} values with the files before it`;
  return new ConfigError(
    ConfigErrorCode.tooLarge,
    { file, line },
    `excessive aliasing: the config expands to more than ${what} (an alias counts as a copy)`,
  );
}

function toSource(raw: EventNode, file: string, lines: LineIndex, line: number): SourceNode {
  const node = unwrap(raw);
  const source: SourceNode = { file, line };
  if (node.kind === 'mapping' && node.result !== null && typeof node.result === 'object') {
    source.entries = new Map();
    const keys = node.result as Record<string, unknown>;
    for (let i = 0; i + 1 < node.children.length; i += 2) {
      const key = unwrap(node.children[i]);
      const name = String(key.result);
      if (name === '<<') continue; // merged keys have no place of their own
      // A pairing that no longer matches the parsed map means a construct we do not follow (`<<`, complex keys):
      // keep what we have, later lookups fall back to the enclosing map.
      if (!Object.hasOwn(keys, name)) break;
      source.entries.set(name, toSource(node.children[i + 1], file, lines, lines.lineOf(key.start)));
    }
  } else if (node.kind === 'sequence') {
    source.items = node.children.map((item) =>
      toSource(item, file, lines, lines.lineOf(skipBlank(lines.text, item.start))),
    );
  }
  return source;
}

function unwrap(node: EventNode): EventNode {
  let n = node;
  while (n.children.length === 1 && n.children[0].result === n.result) n = n.children[0];
  return n;
}

/** Skips spaces, line breaks and comments from `pos` to where a node's text really starts. */
function skipBlank(text: string, pos: number): number {
  let p = pos;
  while (p < text.length) {
    const ch = text[p];
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\uFEFF') p++;
    else if (ch === '#') while (p < text.length && text[p] !== '\n') p++;
    else break;
  }
  return p;
}

class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }

  /** 1-based line of a character offset. */
  lineOf(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** The place of `path`, or of its deepest ancestor that was written down (a key filled in by a default has none). */
export function locateIn(
  source: SourceNode,
  path: readonly (string | number)[],
): { file: string; line: number } | undefined {
  let node = source;
  let found = false;
  for (const part of path) {
    const next = typeof part === 'number' ? node.items?.[part] : node.entries?.get(part);
    if (!next) break;
    node = next;
    found = true;
  }
  return found || path.length === 0 ? { file: node.file, line: node.line } : undefined;
}
