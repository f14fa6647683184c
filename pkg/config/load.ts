// loadConfig: file or directory -> validated MeshConfig, the raw merged settings, and where each key was written.

import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { listConfigFiles } from './config-files.js';
import { ConfigError, ConfigErrorCode } from './errors.js';
import type { KeyPath } from './errors.js';
import type { MeshConfig } from './mesh-config.js';
import { mergeDocuments } from './merge.js';
import type { SourceLocation } from './reader.js';
import { validateConfig } from './validate.js';
import { locateIn, MAX_EXPANDED_VALUES, parseYamlDocument } from './yaml-source.js';
import type { YamlDocument } from './yaml-source.js';

export interface LoadedConfig {
  config: MeshConfig;
  /** The merged settings exactly as parsed (snake_case keys), e.g. for change detection on reload. */
  raw: unknown;
  /** Unknown keys and deprecated spellings, each `file:line: key: ...`. */
  warnings: string[];
  /** The files read, in merge order. */
  files: string[];
  /** Directory that relative pki paths are read from (the config file's directory, or the config directory). */
  baseDir: string;
  /** File and 1-based line where a key path was written (or its nearest written ancestor); undefined if nowhere. */
  locate(path: KeyPath): SourceLocation | undefined;
}

export function loadConfig(path: string): LoadedConfig {
  const files = listConfigFiles(path);
  let merged: YamlDocument | undefined;
  for (const file of files) {
    // One budget for the whole directory: each file gets what the files before it left.
    const doc = parseYamlDocument(readText(file), file, MAX_EXPANDED_VALUES - (merged?.expandedSize ?? 0));
    merged = merged === undefined ? doc : mergeDocuments(merged, doc);
  }
  const source = merged!.source;
  const locate = (p: KeyPath): SourceLocation | undefined => locateIn(source, p);
  const { config, warnings } = validateConfig(merged!.value, locate, files[0]);
  const baseDir = statSync(path).isDirectory() ? path : dirname(path);
  return { config, raw: merged!.value, warnings, files, baseDir, locate };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.unreadable, { file }, `cannot read: ${(err as Error).message}`);
  }
}
