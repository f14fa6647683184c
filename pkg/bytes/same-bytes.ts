// Equality of two byte arrays for data that is not secret (a repeated message, a cache key, a nonce we chose): it
// returns at the first difference. Key material is compared with pkg/cert/constant-time.ts instead.

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
