// The `port`/`code` value of a rule: `any`, `fragment`, `80`, `200-901`. Parsed the way Nebula 1.6.1 parses it,
// quirks included: `0` and any range starting at 0 mean any port, and a range's halves may carry spaces.

import { PORT_ANY, PORT_FRAGMENT } from './constants.js';

export interface PortRange {
  /** PORT_ANY (0), PORT_FRAGMENT (-1), or the first port of an inclusive range. */
  start: number;
  end: number;
}

export class PortSpecError extends Error {
  override name = 'PortSpecError';
  readonly code = 'EPORTSPEC';
}

// Go's strconv.Atoi: optional sign, decimal digits, nothing else.
const GO_INT = /^[+-]?\d+$/;
const INT32_MAX = 0x7fffffff;

export function parsePortSpec(text: string): PortRange {
  if (text === 'any') return { start: PORT_ANY, end: PORT_ANY };
  if (text === 'fragment') return { start: PORT_FRAGMENT, end: PORT_FRAGMENT };

  const dash = text.indexOf('-');
  if (dash < 0) {
    const port = parseGoInt(text, `port is not a number: ${JSON.stringify(text)}`);
    return { start: port, end: port };
  }

  // Split on the first dash only, as Nebula does: "5--3" is 5 to -3 (rejected below), "0--3" is any.
  const first = trimSpaces(text.slice(0, dash));
  const last = trimSpaces(text.slice(dash + 1));
  if (first === '' || last === '') throw new PortSpecError(`invalid port range ${JSON.stringify(text)}`);
  const start = parseGoInt(first, `invalid port range ${JSON.stringify(text)}: start is not a number`);
  const end = parseGoInt(last, `invalid port range ${JSON.stringify(text)}: end is not a number`);
  if (start === PORT_ANY) return { start: PORT_ANY, end: PORT_ANY };
  if (start > end) throw new PortSpecError(`invalid port range ${JSON.stringify(text)}: start is after end`);
  return { start, end };
}

function parseGoInt(text: string, message: string): number {
  if (!GO_INT.test(text)) throw new PortSpecError(message);
  const value = Number(text);
  // Nebula would wrap such a value into an int32; refusing it is the only sane reading.
  if (Math.abs(value) > INT32_MAX) throw new PortSpecError(`${message} (out of range)`);
  return value;
}

function trimSpaces(text: string): string {
  return text.replace(/^ +| +$/g, '');
}
