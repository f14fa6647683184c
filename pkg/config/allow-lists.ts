// lighthouse.remote_allow_list / remote_allow_ranges / local_allow_list: maps of CIDR -> bool, checked the way Nebula
// checks them at startup (every CIDR parses; per family, a mix of true and false needs an explicit /0 default).

import { checkCidr, isDefaultRoute } from './addresses.js';
import { ConfigErrorCode } from './errors.js';
import type { KeyPath } from './errors.js';
import type { AllowListMap, LocalAllowList } from './mesh-config.js';
import type { ConfigReader } from './reader.js';
import { parseBool, readMap } from './typed-values.js';

export function readAllowList(r: ConfigReader, path: KeyPath): AllowListMap | undefined {
  const raw = readMap(r, path);
  return raw === undefined ? undefined : checkAllowList(r, path, raw, []);
}

export function readRemoteAllowRanges(r: ConfigReader, path: KeyPath): Map<string, AllowListMap> | undefined {
  const raw = readMap(r, path);
  if (raw === undefined) return undefined;
  const out = new Map<string, AllowListMap>();
  for (const cidr of Object.keys(raw)) {
    checkCidrKey(r, [...path, cidr], cidr);
    const list = readMap(r, [...path, cidr]);
    out.set(cidr, checkAllowList(r, [...path, cidr], list ?? {}, []));
  }
  return out;
}

export function readLocalAllowList(r: ConfigReader, path: KeyPath): LocalAllowList | undefined {
  const raw = readMap(r, path);
  if (raw === undefined) return undefined;
  const interfaces = new Map<string, boolean>();
  const rawInterfaces = readMap(r, [...path, 'interfaces']) ?? {};
  for (const [pattern, value] of Object.entries(rawInterfaces)) {
    const at = [...path, 'interfaces', pattern];
    const allow = checkBool(r, at, value);
    try {
      new RegExp(`^(?:${pattern})$`);
    } catch (err) {
      throw r.error(ConfigErrorCode.value, at, `invalid interface regex: ${(err as Error).message}`);
    }
    if (interfaces.size > 0 && [...interfaces.values()][0] !== allow) {
      throw r.error(ConfigErrorCode.value, at, 'all interfaces entries must have the same true/false value');
    }
    interfaces.set(pattern, allow);
  }
  return { cidrs: checkAllowList(r, path, raw, ['interfaces']), interfaces };
}

function checkAllowList(r: ConfigReader, path: KeyPath, raw: Record<string, unknown>, skip: string[]): AllowListMap {
  const out: AllowListMap = new Map();
  const seen = { 4: new Set<boolean>(), 6: new Set<boolean>() };
  const hasDefault = { 4: false, 6: false };
  for (const [cidr, value] of Object.entries(raw)) {
    if (skip.includes(cidr)) continue;
    const family = checkCidrKey(r, [...path, cidr], cidr);
    const allow = checkBool(r, [...path, cidr], value);
    seen[family].add(allow);
    if (isDefaultRoute(cidr)) hasDefault[family] = true;
    out.set(cidr, allow);
  }
  for (const family of [4, 6] as const) {
    if (seen[family].size > 1 && !hasDefault[family]) {
      const zero = family === 4 ? '0.0.0.0/0' : '::/0';
      throw r.error(
        ConfigErrorCode.value,
        path,
        `mixes true and false IPv${family} entries, so it needs an explicit ${zero} entry`,
      );
    }
  }
  return out;
}

function checkCidrKey(r: ConfigReader, path: KeyPath, cidr: string): 4 | 6 {
  const family = checkCidr(cidr);
  if (typeof family === 'string') throw r.error(ConfigErrorCode.value, path, `invalid CIDR "${cidr}": ${family}`);
  return family;
}

function checkBool(r: ConfigReader, path: KeyPath, value: unknown): boolean {
  r.value(path); // mark as known
  const allow = parseBool(value);
  if (allow === undefined) throw r.typeError(path, 'a boolean (true/false)', value);
  return allow;
}
