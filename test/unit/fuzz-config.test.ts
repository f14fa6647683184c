// Fuzzing the config loader: mutated YAML text (the shipped examples, edited character- and line-wise) and mutated
// setting trees (a leaf or a subtree replaced by a value of another type or a boundary number) must either load
// or fail with ConfigError, whatever the file holds: a config mistake is reported as file:line, never as a crash.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError } from '../../pkg/config/errors.js';
import { validateConfig } from '../../pkg/config/index.js';
import { mergeDocuments } from '../../pkg/config/merge.js';
import { locateIn, parseYamlDocument } from '../../pkg/config/yaml-source.js';
import { expectOnly, INTERESTING_INTS, mutateText, runFuzz, type Rand } from './helpers/fuzz.js';

const isConfigError = (e: unknown): boolean => e instanceof ConfigError;

const EXAMPLES = [
  ...['config.yml', 'node.yml', 'lighthouse.yml'].map((f) => `examples/${f}`),
  // Nebula 1.11's stock example and every key 1.7-1.11 added (ECMP via lists, calculated_remotes, local_cidr, ...).
  'test/data/nebula-examples/v1.11.1.yml',
  'test/fixtures/config/nebula-1.7-1.11-keys.yml',
].map((f) => readFileSync(new URL(`../../../${f}`, import.meta.url), 'utf8'));

// IPv6 overlay addresses wherever an overlay address goes (docs/ipv6.md), so mutations reach those parsers too.
const IPV6_OVERLAY = `pki: {ca: ca.crt, cert: host.crt, key: host.key}
static_host_map:
  "fd00:9::1": ["[2001:db8::1]:4242", "192.0.2.1:4242"]
  "10.9.0.1": ["192.0.2.1:4242"]
lighthouse:
  hosts: ["fd00:9::1"]
  remote_allow_ranges:
    "fd00:9::/120": {"0.0.0.0/0": true, "::/0": true}
relay:
  relays: ["fd00:9::1", "10.9.0.1"]
tun:
  mtu: 1280
  routes: [{mtu: 1400, route: "fd00:9:1::/64"}]
  unsafe_routes:
    - {route: "fd77::/48", via: "fd00:9::7"}
    - {route: "192.168.5.0/24", via: [{gateway: "fd00:9::8", weight: 2}, {gateway: "10.9.0.8", weight: 1}]}
preferred_ranges: ["2001:db8::/32", "192.0.2.0/24"]
`;
EXAMPLES.push(IPV6_OVERLAY);

/** Parse, merge over another document as a config directory does, and validate: everything loadConfig does after reading. */
function load(text: string, over?: string): unknown {
  let doc = parseYamlDocument(text, 'fuzz.yml');
  if (over !== undefined) doc = mergeDocuments(parseYamlDocument(over, 'base.yml'), doc);
  const source = doc.source;
  return validateConfig(doc.value, (p) => locateIn(source, p), 'fuzz.yml');
}

test('fuzz config text: mutated YAML loads or fails with ConfigError', (t) => {
  let loaded = 0;
  const stats = runFuzz('config-yaml', { iterations: 3_000, minIterations: 300, ms: 2000, seed: 0xc0f1 }, (r) => {
    const text = mutateText(r, r.pick(EXAMPLES), 6);
    const over = r.chance(0.2) ? r.pick(EXAMPLES) : undefined;
    if (expectOnly(() => load(text, over), isConfigError, text).ok) loaded++;
  });
  t.diagnostic(`${stats.iterations} mutated files in ${stats.ms.toFixed(0)} ms, ${loaded} loaded`);
  assert.ok(loaded > 10, `only ${loaded} mutated files loaded: the mutations stop at the YAML parser`);
});

const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  0.5,
  -0,
  Infinity,
  -Infinity,
  Number.NaN,
  2 ** 31,
  2 ** 53,
  Number.MAX_VALUE,
  '',
  ' ',
  'any',
  '-1',
  '0x10',
  '1e999',
  '10.99.0.1',
  '10.99.0.0/24',
  '0.0.0.0/0',
  '::1',
  '[::1]:4242',
  '1.2.3.4:99999',
  '300.1.1.1',
  '5s',
  '-5s',
  '9999999999999h',
  'x'.repeat(5000),
  '\u0000',
  [],
  [null],
  [[]],
  {},
  { '': null },
  { any: [] },
];

function oddValue(r: Rand): unknown {
  if (r.chance(0.2)) return Number(r.pick(INTERESTING_INTS));
  const v = r.pick(ODD_VALUES);
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

/** Replaces one randomly chosen node of the tree (a leaf or a subtree, at any depth) with an odd value. */
function mutateTree(r: Rand, tree: unknown): unknown {
  if (typeof tree !== 'object' || tree === null || r.chance(0.15)) return oddValue(r);
  if (Array.isArray(tree)) {
    const copy = [...tree];
    if (copy.length === 0 || r.chance(0.1)) copy.push(oddValue(r));
    else {
      const i = r.int(copy.length);
      copy[i] = mutateTree(r, copy[i]);
    }
    return copy;
  }
  const copy: Record<string, unknown> = { ...(tree as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0 || r.chance(0.05)) copy[r.pick(['port', 'host', 'any', 'groups', 'cidr', 'x'])] = oddValue(r);
  else {
    const k = r.pick(keys);
    copy[k] = mutateTree(r, copy[k]);
  }
  return copy;
}

test('fuzz config values: a setting of the wrong type or out of range fails with ConfigError', (t) => {
  const trees = EXAMPLES.map((text) => parseYamlDocument(text, 'example.yml').value);
  let loaded = 0;
  const stats = runFuzz('config-values', { iterations: 20_000, minIterations: 2000, ms: 1200, seed: 0xc0f2 }, (r) => {
    let tree: unknown = r.pick(trees);
    for (let n = 1 + r.int(3); n > 0; n--) tree = mutateTree(r, tree);
    const result = expectOnly(() => validateConfig(tree, undefined, 'fuzz.yml'), isConfigError, JSON.stringify(tree));
    if (result.ok) loaded++;
  });
  t.diagnostic(`${stats.iterations} mutated trees in ${stats.ms.toFixed(0)} ms, ${loaded} validated`);
  assert.ok(loaded > 100, `only ${loaded} mutated trees validated`);
});
