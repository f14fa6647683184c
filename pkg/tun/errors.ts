// Every failure of the TUN layer is a TunError; `code` says which stage failed, `sysCode` carries the errno name
// underneath ('EPERM', 'EBUSY') when there is one.

export type TunErrorCode =
  | 'ETUNOPEN' // /dev/net/tun or TUNSETIFF failed
  | 'ETUNCONFIG' // an `ip` command configuring address, MTU or routes failed
  | 'ETUNIO' // reading or writing the fd failed
  | 'ETUNCLOSED'; // the device was used after close()

export class TunError extends Error {
  override name = 'TunError';
  readonly code: TunErrorCode;
  readonly sysCode: string | undefined;

  constructor(code: TunErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.sysCode = sysCodeOf(options?.cause);
  }
}

function sysCodeOf(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
