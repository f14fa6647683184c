// Config errors: one class, a stable `code` per sub-kind, and the place (file, line, dotted key) so the CLI can print
// one line such as `config.yml:12: listen.port: expected an integer 0-65535, got "abc"`.

export type KeyPath = readonly (string | number)[];

export const ConfigErrorCode = {
  /** The config path (or a directory's yaml files) does not exist. */
  notFound: 'ECONFIG_NOT_FOUND',
  /** A file exists but could not be read. */
  unreadable: 'ECONFIG_READ',
  /** A file holds no YAML document (empty or only comments). */
  empty: 'ECONFIG_EMPTY',
  /** YAML syntax error. */
  syntax: 'ECONFIG_SYNTAX',
  /** A value has the wrong type (a list where a map belongs, "abc" for an integer, ...). */
  type: 'ECONFIG_TYPE',
  /** A number outside its allowed range (ports, MTU, ...). */
  range: 'ECONFIG_RANGE',
  /** A value of the right type that does not parse or is not allowed (duration, CIDR, enum, address). */
  value: 'ECONFIG_VALUE',
  /** A required key is absent. */
  missing: 'ECONFIG_MISSING',
  /** A PEM value that is neither inline PEM nor a readable file. */
  pem: 'ECONFIG_PEM',
  /** The config expands to more values than a config may have (YAML aliases counted as copies). */
  tooLarge: 'ECONFIG_TOO_LARGE',
} as const;

export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

export interface ConfigErrorPlace {
  file: string;
  line?: number;
  key?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly line: number | undefined;
  readonly key: string | undefined;
  /** The message without the `file:line: key: ` prefix. */
  readonly detail: string;

  constructor(code: ConfigErrorCode, place: ConfigErrorPlace, detail: string) {
    super(`${formatPlace(place)}: ${detail}`);
    this.code = code;
    this.file = place.file;
    this.line = place.line;
    this.key = place.key;
    this.detail = detail;
  }
}

function formatPlace(place: ConfigErrorPlace): string {
  const where = place.line === undefined ? place.file : `${place.file}:${place.line}`;
  return place.key === undefined || place.key === '' ? where : `${where}: ${place.key}`;
}

/** `['firewall', 'inbound', 2, 'port']` -> `firewall.inbound[2].port`; keys that are not plain words get quoted. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** How a bad value is shown in a message: strings quoted, collections named. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a map';
  return String(value);
}
