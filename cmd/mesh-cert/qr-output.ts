// -out-qr: the PEM text as a QR code PNG (level M, 5 pixels per module), as nebula-cert writes it.

import { CliError } from '../../pkg/cli/cli-error.js';
import { QrTooLongError, encodeQr } from './qr/qr-symbol.js';
import { qrToPng } from './qr/png.js';

export function qrPngForFlag(text: string): Uint8Array {
  try {
    return qrToPng(encodeQr(new TextEncoder().encode(text)));
  } catch (err) {
    if (err instanceof QrTooLongError) throw new CliError(`-out-qr: ${err.message}`);
    throw err;
  }
}
