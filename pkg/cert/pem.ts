// PEM framing as Go's encoding/pem writes it: no headers, standard base64 in 64-character lines.
//
//   -----BEGIN NEBULA CERTIFICATE-----
//   <base64, 64 chars per line>
//   -----END NEBULA CERTIFICATE-----
//
// Text before a block is ignored (as Go does); text other than whitespace after the last block is an error,
// because Nebula's bundle loader refuses it too.

import { CertError } from './errors.js';

export interface PemBlock {
  banner: string;
  bytes: Uint8Array;
}

const BEGIN = /^-----BEGIN ([^-\r\n]+(?:-[^-\r\n]+)*)-----\s*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LINE_CHARS = 64;

export function encodePem(banner: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let out = `-----BEGIN ${banner}-----\n`;
  for (let i = 0; i < b64.length; i += LINE_CHARS) out += b64.slice(i, i + LINE_CHARS) + '\n';
  return out + `-----END ${banner}-----\n`;
}

export function decodePemBlocks(text: string): PemBlock[] {
  const lines = text.split('\n');
  const blocks: PemBlock[] = [];
  let trailing = false;
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec(lines[i]);
    if (!begin) {
      if (lines[i].trim() !== '') trailing = true;
      continue;
    }
    const banner = begin[1];
    const end = `-----END ${banner}-----`;
    let body = '';
    let j = i + 1;
    for (; j < lines.length && lines[j].trimEnd() !== end; j++) {
      if (BEGIN.test(lines[j])) break;
      body += lines[j].replace(/\s+/g, '');
    }
    if (j >= lines.length || lines[j].trimEnd() !== end) {
      throw new CertError('ECERTPEM', `PEM block "${banner}" has no matching END line`);
    }
    if (!BASE64.test(body)) throw new CertError('ECERTPEM', `PEM block "${banner}" does not contain valid base64`);
    blocks.push({ banner, bytes: new Uint8Array(Buffer.from(body, 'base64')) });
    trailing = false;
    i = j;
  }
  if (trailing && blocks.length > 0) {
    throw new CertError('ECERTPEM', 'unexpected text after the last PEM block');
  }
  return blocks;
}
