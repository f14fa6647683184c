// Public surface of the config package.

export { loadConfig } from './load.js';
export type { LoadedConfig } from './load.js';
export { validateConfig } from './validate.js';
export type { ValidatedConfig } from './validate.js';
export { readPemSource } from './pem.js';
export { ConfigError, ConfigErrorCode, formatKeyPath } from './errors.js';
export type { KeyPath } from './errors.js';
export type { Locator, SourceLocation } from './reader.js';
export { parseGoDuration } from './duration.js';
export { parseHostPort } from './addresses.js';
export type { HostPort } from './addresses.js';
export { DEFAULTS } from './defaults.js';
export type * from './mesh-config.js';
