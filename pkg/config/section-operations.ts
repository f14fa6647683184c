// What the operator sees and touches: logging, stats, sshd (kept raw) and the mesh-only control socket.

import { DEFAULTS } from './defaults.js';
import { ConfigErrorCode } from './errors.js';
import type { ControlConfig, LogLevel, LoggingConfig, StatsConfig, StatsType } from './mesh-config.js';
import type { ConfigReader } from './reader.js';
import { readBool, readChoice, readDurationMs, readMap, readString } from './typed-values.js';

const LEVELS = ['panic', 'fatal', 'error', 'warning', 'warn', 'info', 'debug', 'trace'] as const;

export function readLogging(r: ConfigReader): LoggingConfig {
  // Case-insensitive and `warn` = `warning`, like logrus.ParseLevel.
  const level = readChoice(r, ['logging', 'level'], LEVELS, 'info', true);
  return {
    level: (level === 'warn' ? 'warning' : level) as LogLevel,
    format: readChoice(r, ['logging', 'format'], ['text', 'json'] as const, 'text', true),
    disableTimestamp: readBool(r, ['logging', 'disable_timestamp'], false),
    timestampFormat: readString(r, ['logging', 'timestamp_format'], ''),
  };
}

export function readStats(r: ConfigReader): StatsConfig {
  const s = (key: string, fallback: string): string => readString(r, ['stats', key], fallback);
  // '' and 'none' both mean no stats.
  const rawType =
    readString(r, ['stats', 'type'], '') === ''
      ? 'none'
      : readChoice(r, ['stats', 'type'], ['none', 'graphite', 'prometheus'] as const, 'none');
  const type: StatsType | undefined = rawType === 'none' ? undefined : rawType;
  const stats: StatsConfig = {
    type,
    intervalMs: r.has(['stats', 'interval']) ? readDurationMs(r, ['stats', 'interval'], 0) : undefined,
    prefix: s('prefix', DEFAULTS.statsPrefix),
    protocol: readChoice(r, ['stats', 'protocol'], ['tcp', 'tcp4', 'tcp6'] as const, DEFAULTS.statsProtocol),
    host: s('host', ''),
    listen: s('listen', ''),
    path: s('path', ''),
    namespace: s('namespace', ''),
    subsystem: s('subsystem', ''),
    messageMetrics: readBool(r, ['stats', 'message_metrics'], false),
    lighthouseMetrics: readBool(r, ['stats', 'lighthouse_metrics'], false),
  };
  // Nebula refuses to start with these missing once a type is chosen.
  if (type !== undefined && !stats.intervalMs) {
    throw r.error(ConfigErrorCode.missing, ['stats', 'interval'], `required (> 0) when stats.type is ${type}`);
  }
  if (type === 'graphite' && stats.host === '') {
    throw r.error(ConfigErrorCode.missing, ['stats', 'host'], 'required when stats.type is graphite');
  }
  if (type === 'prometheus') {
    for (const key of ['listen', 'path'] as const) {
      if (stats[key] === '')
        throw r.error(ConfigErrorCode.missing, ['stats', key], 'required when stats.type is prometheus');
    }
  }
  return stats;
}

export function readSshd(r: ConfigReader): Record<string, unknown> {
  const raw = readMap(r, ['sshd']) ?? {};
  r.keepRaw(['sshd']);
  return raw;
}

export function readControl(r: ConfigReader): ControlConfig {
  const socket = readString(r, ['control', 'socket'], '');
  return { socket: socket === '' ? undefined : socket };
}
