// The part of the `qrcode` package -out-qr uses: its symbol encoder (what the package's own `create` is), imported
// without the package's renderers, which would bring a PNG library we do not need into the bundle.

declare module 'qrcode/lib/core/qrcode.js' {
  interface ByteSegment {
    data: Uint8Array;
    mode: 'byte';
  }
  interface QrSymbol {
    /** `get(row, col)` is 1 for a dark module. */
    modules: { size: number; get(row: number, col: number): number };
    version: number;
    maskPattern: number;
  }
  const qrcode: {
    create(
      data: ByteSegment[],
      options: { errorCorrectionLevel: 'L' | 'M' | 'Q' | 'H'; maskPattern?: number },
    ): QrSymbol;
  };
  export default qrcode;
}
