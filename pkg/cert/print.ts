// Human and JSON renderings of a certificate, matching `nebula-cert print` and `nebula-cert print -json` when the
// process runs in UTC (Go prints times in the local zone; we always print UTC).

import { formatNet } from './net-text.js';
import { fingerprint } from './signature.js';
import type { NebulaCertificate } from './types.js';

function utcParts(seconds: number): { date: string; time: string } | null {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return null;
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ (or ±YYYYYY-... outside 0000-9999)
  const t = iso.indexOf('T');
  return { date: iso.slice(0, t), time: iso.slice(t + 1, t + 9) };
}

/** Go's time.Time %v for a UTC time: "2026-11-23 17:29:53 +0000 UTC". */
function goTimeText(seconds: number): string {
  const p = utcParts(seconds);
  return p ? `${p.date} ${p.time} +0000 UTC` : `@${seconds}`;
}

/** RFC 3339 as Go's time.Time JSON: "2026-11-23T17:29:53Z". */
function rfc3339(seconds: number): string {
  const p = utcParts(seconds);
  return p ? `${p.date}T${p.time}Z` : `@${seconds}`;
}

function listBlock(label: string, items: string[]): string {
  if (items.length === 0) return `\t\t${label}: []\n`;
  return `\t\t${label}: [\n${items.map((i) => `\t\t\t${i}\n`).join('')}\t\t]\n`;
}

function tryFingerprint(c: NebulaCertificate): string | null {
  try {
    return fingerprint(c);
  } catch {
    return null;
  }
}

/** The `nebula-cert print` text block (no trailing newline). */
export function formatCertificateText(c: NebulaCertificate): string {
  const d = c.details;
  let s = 'NebulaCertificate {\n\tDetails {\n';
  s += `\t\tName: ${d.name}\n`;
  s += listBlock('Ips', d.ips.map(formatNet));
  s += listBlock('Subnets', d.subnets.map(formatNet));
  s += listBlock(
    'Groups',
    d.groups.map((g) => `"${g}"`),
  );
  s += `\t\tNot before: ${goTimeText(d.notBefore)}\n`;
  s += `\t\tNot After: ${goTimeText(d.notAfter)}\n`;
  s += `\t\tIs CA: ${d.isCA}\n`;
  s += `\t\tIssuer: ${d.issuer}\n`;
  s += `\t\tPublic key: ${Buffer.from(d.publicKey).toString('hex')}\n`;
  s += '\t}\n';
  const fp = tryFingerprint(c);
  if (fp !== null) s += `\tFingerprint: ${fp}\n`;
  s += `\tSignature: ${Buffer.from(c.signature).toString('hex')}\n`;
  return s + '}';
}

// Go's encoding/json escapes HTML-significant characters and U+2028/2029 that JSON.stringify leaves alone.
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || ch === '<' || ch === '>' || ch === '&' || code === 0x2028 || code === 0x2029) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + '"';
}

function jsonArray(items: string[]): string {
  return `[${items.map(goJsonString).join(',')}]`;
}

/** One `nebula-cert print -json` line (no trailing newline); keys sorted as Go sorts map keys. */
export function formatCertificateJson(c: NebulaCertificate): string {
  const d = c.details;
  const details =
    `{"groups":${jsonArray(d.groups)},` +
    `"ips":${jsonArray(d.ips.map(formatNet))},` +
    `"isCa":${d.isCA},` +
    `"issuer":${goJsonString(d.issuer)},` +
    `"name":${goJsonString(d.name)},` +
    `"notAfter":${goJsonString(rfc3339(d.notAfter))},` +
    `"notBefore":${goJsonString(rfc3339(d.notBefore))},` +
    `"publicKey":${goJsonString(Buffer.from(d.publicKey).toString('hex'))},` +
    `"subnets":${jsonArray(d.subnets.map(formatNet))}}`;
  const fp = tryFingerprint(c) ?? '';
  return `{"details":${details},"fingerprint":${goJsonString(fp)},"signature":${goJsonString(Buffer.from(c.signature).toString('hex'))}}`;
}
