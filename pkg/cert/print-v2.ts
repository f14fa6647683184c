// `nebula-cert print` as Nebula 1.10+ writes it: a certificate is a JSON object (sorted keys, Go's escaping),
// compact for `-json` and tab-indented for the text form. Used for v2 certificates, and for v1 certificates only
// when they are printed next to v2 ones (a file of v1 certificates prints as 1.6.1 did, print.ts).
// Times are printed in UTC (Go prints them in the local zone).

import { formatIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { certificateView, isCertificateV2, type AnyCertificate } from './cert-any.js';
import { fingerprintV2 } from './cert-v2-marshal.js';
import { curveName } from './cert-v2-types.js';
import { goJsonString } from './print.js';
import { fingerprint } from './signature.js';

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Go's encoding/json: map keys sorted; `indent` '' means compact, otherwise json.MarshalIndent's layout. */
export function goJson(v: JsonValue, indent = '', depth = 0): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const open = Array.isArray(v) ? '[' : '{';
  const close = Array.isArray(v) ? ']' : '}';
  const items = Array.isArray(v)
    ? v.map((x) => goJson(x, indent, depth + 1))
    : Object.keys(v)
        .sort()
        .map((k) => `${goJsonString(k)}:${indent ? ' ' : ''}${goJson(v[k], indent, depth + 1)}`);
  if (items.length === 0) return open + close;
  if (!indent) return open + items.join(',') + close;
  const pad = indent.repeat(depth + 1);
  return `${open}\n${items.map((i) => pad + i).join(',\n')}\n${indent.repeat(depth)}${close}`;
}

/** RFC 3339 in UTC, as Go's time.Time marshals whole seconds: "2026-11-23T17:29:53Z". */
function rfc3339(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return `@${seconds}`;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Nebula's v2 decoder leaves absent lists nil (JSON null); its v1 decoder makes empty ones ([]).
function list<T>(items: T[], nullWhenEmpty: boolean, f: (x: T) => string): JsonValue {
  return items.length === 0 && nullWhenEmpty ? null : items.map(f);
}

function prefixText(p: IpPrefix): string {
  return formatIpPrefix(p.bits >= 0 ? p : { addr: p.addr, bits: 0 });
}

function tryFingerprint(c: AnyCertificate): string {
  try {
    return isCertificateV2(c) ? fingerprintV2(c) : fingerprint(c);
  } catch {
    return '';
  }
}

/** The object Nebula 1.10's MarshalJSON builds for either version. */
export function certificateJsonValue(c: AnyCertificate): JsonValue {
  const v = certificateView(c);
  const v2 = isCertificateV2(c);
  const details: Record<string, JsonValue> = {
    name: v.name,
    networks: list(v.networks, v2, prefixText),
    unsafeNetworks: list(v.unsafeNetworks, v2, prefixText),
    groups: list(v.groups, v2, (g) => g),
    notBefore: rfc3339(v.notBefore),
    notAfter: rfc3339(v.notAfter),
    isCa: v.isCA,
    issuer: v.issuer,
  };
  const out: Record<string, JsonValue> = {
    details,
    version: v.version,
    fingerprint: tryFingerprint(c),
    signature: Buffer.from(c.signature).toString('hex'),
  };
  // v1 keeps its key and curve inside the details, v2 beside them.
  const home = v2 ? out : details;
  home.publicKey = Buffer.from(v.publicKey).toString('hex');
  home.curve = curveName(v.curve);
  return out;
}

/** One certificate as compact JSON (Nebula 1.10's MarshalJSON). */
export function formatCertificateJsonV2(c: AnyCertificate): string {
  return goJson(certificateJsonValue(c));
}

/** The text form of `print` in 1.10+: the same object, tab-indented. */
export function formatCertificateTextV2(c: AnyCertificate): string {
  return goJson(certificateJsonValue(c), '\t');
}

/** `print -json` of 1.10+: every certificate of the file in one JSON array. */
export function formatCertificatesJsonArray(certs: AnyCertificate[]): string {
  return goJson(certs.map(certificateJsonValue));
}
