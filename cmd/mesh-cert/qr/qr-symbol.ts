// The QR symbol of -out-qr, by the `qrcode` package: the bytes in one byte-mode segment, error correction level M
// (what nebula-cert uses), the smallest version that holds them, the package's best mask unless a test forces one.

import qrcode from 'qrcode/lib/core/qrcode.js';

export class QrTooLongError extends Error {
  override name = 'QrTooLongError';
  readonly code = 'EQRTOOLONG';
}

/** A square of modules, `isDark(x, y)`. */
export interface QrSymbol {
  size: number;
  version: number;
  mask: number;
  isDark(x: number, y: number): boolean;
}

/** Version 40 at level M holds 2331 bytes. */
export const MAX_QR_BYTES = 2331;

/** Encodes `bytes`; `forceMask` (0-7) skips the mask choice (tests decode every mask). */
export function encodeQr(bytes: Uint8Array, forceMask?: number): QrSymbol {
  // Checked here: the package says so only in an Error like every other failure.
  if (bytes.length > MAX_QR_BYTES) throw new QrTooLongError(`${bytes.length} bytes do not fit in a QR code`);
  const symbol = qrcode.create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: 'M', maskPattern: forceMask });
  const { modules } = symbol;
  return {
    size: modules.size,
    version: symbol.version,
    mask: symbol.maskPattern,
    isDark: (x, y) => modules.get(y, x) === 1,
  };
}
