// lighthouse.store (mesh only, docs/lighthouse-tier.md): where a lighthouse shares what it knows with the other
// lighthouses of its tier.
//
//   store: memory                      # the default: one lighthouse alone, as Nebula's
//   store:                             # a tier on NATS JetStream
//     nats: ["nats://10.0.0.1:4222"]   # server URLs (nats://, tls://, or host:port)
//     user: lighthouse                 # credentials; or token
//     password: secret
//     tls: { ca: ca.pem, cert: client.pem, key: client.key }
//     bucket: mesh_lighthouse          # the JetStream key-value bucket
//     ttl: 30s                         # how long a host's entry lives without a refresh
//     id: lh-1                         # this lighthouse's id in the tier (default: its overlay address, '.' as '-')

import { LIGHTHOUSE_ID } from '../lighthouse/store/record.js';
import { ConfigErrorCode } from './errors.js';
import type { ConfigReader } from './reader.js';
import { readDurationMs, readMap, readString, readStringList } from './typed-values.js';

export interface NatsStoreConfig {
  kind: 'nats';
  servers: string[];
  user?: string;
  password?: string;
  token?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  bucket: string;
  ttlMs: number;
  /** undefined: the lighthouse's overlay address with '.' and ':' as '-'. */
  id?: string;
}

export type LighthouseStoreConfig = { kind: 'memory' } | NatsStoreConfig;

export const STORE_DEFAULTS = { bucket: 'mesh_lighthouse', ttlMs: 30_000 } as const;

const NATS_URL = /^(?:(?:nats|tls):\/\/)?(?:[^\s/@]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

export function readLighthouseStore(r: ConfigReader): LighthouseStoreConfig {
  const path = ['lighthouse', 'store'];
  const v = r.value(path);
  if (v === undefined || v === 'memory') return { kind: 'memory' };
  if (typeof v === 'string')
    throw r.error(ConfigErrorCode.value, path, `expected "memory" or a map with a "nats" URL list, got "${v}"`);
  readMap(r, path); // a type error when it is neither
  const servers = readStringList(r, [...path, 'nats']);
  if (servers.length === 0)
    throw r.error(ConfigErrorCode.value, [...path, 'nats'], 'needs at least one NATS server URL');
  servers.forEach((url, i) => {
    if (!NATS_URL.test(url))
      throw r.error(ConfigErrorCode.value, [...path, 'nats', i], `"${url}" is not a NATS URL (nats://host:port)`);
  });
  const bucket = readString(r, [...path, 'bucket'], STORE_DEFAULTS.bucket);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(bucket))
    throw r.error(ConfigErrorCode.value, [...path, 'bucket'], 'a bucket name is letters, digits, "_" and "-"');
  const id = readString(r, [...path, 'id'], '');
  if (id !== '' && !LIGHTHOUSE_ID.test(id))
    throw r.error(ConfigErrorCode.value, [...path, 'id'], 'an id is 1-64 letters, digits, "_" and "-"');
  const optional = (key: string[]): string | undefined => readString(r, [...path, ...key], '') || undefined;
  const tls =
    readMap(r, [...path, 'tls']) === undefined
      ? undefined
      : { ca: optional(['tls', 'ca']), cert: optional(['tls', 'cert']), key: optional(['tls', 'key']) };
  return {
    kind: 'nats',
    servers,
    user: optional(['user']),
    password: optional(['password']),
    token: optional(['token']),
    ...(tls ? { tls } : {}),
    bucket,
    ttlMs: readDurationMs(r, [...path, 'ttl'], STORE_DEFAULTS.ttlMs, { minMs: 1000 }),
    ...(id ? { id } : {}),
  };
}
