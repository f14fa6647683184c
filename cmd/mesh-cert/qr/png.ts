// A black-and-white PNG of a QR matrix: 1-bit grayscale, `scale` pixels per module, a 4-module light border.
//
//   PNG = signature | IHDR | IDAT (zlib of rows: filter byte 0 + packed bits, 1 = white) | IEND
//   chunk = length (u32 BE) | type | data | CRC-32 of type+data

import { crc32, deflateSync } from 'node:zlib';
import type { QrSymbol } from './qr-symbol.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const BORDER = 4;

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function qrToPng(qr: QrSymbol, scale = 5): Uint8Array {
  const width = (qr.size + 2 * BORDER) * scale;
  const rowBytes = Math.ceil(width / 8);
  const raw = new Uint8Array((rowBytes + 1) * width);
  for (let py = 0; py < width; py++) {
    const row = raw.subarray(py * (rowBytes + 1) + 1, (py + 1) * (rowBytes + 1));
    const my = Math.floor(py / scale) - BORDER;
    for (let px = 0; px < width; px++) {
      const mx = Math.floor(px / scale) - BORDER;
      const dark = my >= 0 && my < qr.size && mx >= 0 && mx < qr.size && qr.isDark(mx, my);
      if (!dark) row[px >>> 3] |= 0x80 >>> (px & 7);
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, width);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array(deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
