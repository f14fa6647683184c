// The control protocol between `mesh <subcommand>` and the daemon: JSON lines over a unix stream socket.
//
//   request   {"id":7,"command":"ping","args":{"host":"10.99.0.2"}}\n
//   reply     {"id":7,"ok":true,"result":{...}}\n
//             {"id":7,"ok":false,"error":{"code":"ENOHOST","message":"no tunnel or certificate named x"}}\n
//
// One connection may carry several requests; replies carry the request's id and come in completion order.
// A line longer than MAX_LINE_BYTES closes the connection: a client never needs that much.

export const MAX_LINE_BYTES = 1 << 20;

export const COMMANDS = ['status', 'ping', 'netcheck', 'reload', 'print-cert', 'close-tunnel'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ControlRequest {
  id: number;
  command: Command;
  args: Record<string, unknown>;
}

export type ControlReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ControlErrorCode; message: string } };

export const ControlErrorCode = {
  badRequest: 'EBADREQUEST',
  unknownCommand: 'EUNKNOWNCOMMAND',
  noHost: 'ENOHOST',
  timeout: 'ETIMEOUT',
  reloadFailed: 'ERELOAD',
  internal: 'EINTERNAL',
  /** Client side: no daemon listens on the socket (not started, or started with another config). */
  notRunning: 'ENOTRUNNING',
  /** Client side: the socket is root-only and we are not allowed in. */
  denied: 'EDENIED',
  /** Client side: the daemon's reply did not parse or the connection dropped mid-request. */
  protocol: 'EPROTOCOL',
} as const;
export type ControlErrorCode = (typeof ControlErrorCode)[keyof typeof ControlErrorCode];

export class ControlError extends Error {
  override name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function encodeRequest(req: ControlRequest): string {
  return JSON.stringify(req) + '\n';
}

export function encodeReply(reply: ControlReply): string {
  return JSON.stringify(reply) + '\n';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses one request line; the error says what is wrong and, when the id could be read, carries it. */
export function decodeRequest(line: string): ControlRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new ControlError(ControlErrorCode.badRequest, 'request is not JSON');
  }
  if (!isObject(raw)) throw new ControlError(ControlErrorCode.badRequest, 'request must be a JSON object');
  const { id, command, args } = raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id))
    throw new ControlError(ControlErrorCode.badRequest, 'request id must be an integer');
  if (typeof command !== 'string')
    throw new ControlError(ControlErrorCode.badRequest, 'request command must be a string');
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new ControlError(ControlErrorCode.unknownCommand, `unknown command ${JSON.stringify(command)}`);
  if (args !== undefined && !isObject(args))
    throw new ControlError(ControlErrorCode.badRequest, 'request args must be an object');
  return { id, command: command as Command, args: args ?? {} };
}

/** The id of a request line that failed to decode, so the error reply can still be matched; 0 if unreadable. */
export function requestIdOf(line: string): number {
  try {
    const raw: unknown = JSON.parse(line);
    return isObject(raw) && typeof raw.id === 'number' ? raw.id : 0;
  } catch {
    return 0;
  }
}

export function decodeReply(line: string): ControlReply {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new ControlError(ControlErrorCode.protocol, 'reply is not JSON');
  }
  if (!isObject(raw) || typeof raw.id !== 'number' || typeof raw.ok !== 'boolean') {
    throw new ControlError(ControlErrorCode.protocol, 'reply lacks id or ok');
  }
  if (raw.ok) return { id: raw.id, ok: true, result: raw.result };
  const err = raw.error;
  if (!isObject(err) || typeof err.code !== 'string' || typeof err.message !== 'string') {
    throw new ControlError(ControlErrorCode.protocol, 'error reply lacks code or message');
  }
  return { id: raw.id, ok: false, error: { code: err.code as ControlErrorCode, message: err.message } };
}

/**
 * Splits a byte stream into lines. `push` returns the complete lines so far; a line over `maxBytes` throws, so a
 * peer cannot make us buffer without bound. Each chunk is scanned and measured once: the unfinished line is kept
 * as pieces with a running byte count, because re-splitting it on every chunk made a line written a byte at a
 * time cost quadratic time on the daemon's event loop.
 */
export class LineSplitter {
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const line = this.take(chunk.slice(start, nl));
      if (line.trim() !== '') lines.push(line);
      start = nl + 1;
    }
    const rest = chunk.slice(start);
    if (rest !== '') {
      this.grow(rest);
      this.pending.push(rest);
    }
    return lines;
  }

  /** The pending pieces and `tail` as one line; the splitter starts a new line. */
  private take(tail: string): string {
    this.grow(tail);
    const line = this.pending.length === 0 ? tail : this.pending.join('') + tail;
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }

  private grow(piece: string): void {
    this.pendingBytes += Buffer.byteLength(piece);
    if (this.pendingBytes > this.maxBytes) throw new ControlError(ControlErrorCode.badRequest, 'line too long');
  }
}

export function stringArg(args: Record<string, unknown>, name: string): string {
  const v = args[name];
  if (typeof v !== 'string' || v === '') throw new ControlError(ControlErrorCode.badRequest, `${name} is required`);
  return v;
}

export function optionalStringArg(args: Record<string, unknown>, name: string): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ControlError(ControlErrorCode.badRequest, `${name} must be a string`);
  return v;
}

export function numberArg(
  args: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = args[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ControlError(ControlErrorCode.badRequest, `${name} must be a number in [${min}, ${max}]`);
  }
  return v;
}
