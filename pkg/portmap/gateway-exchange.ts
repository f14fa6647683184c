// One request/response exchange with the gateway over UDP, for PCP and NAT-PMP: a socket connected to
// gateway:5351 (so the kernel passes up only datagrams from that address and port, and an ICMP port-unreachable
// ends the wait at once), a bounded number of sends with doubling waits, and the first datagram the caller's
// parser accepts. RFC 6886 §3.1 retries 9 times from 250 ms; mesh stops after 3 (1.75 s) so that the next protocol
// is tried while the node is still starting.

import { createSocket } from 'node:dgram';

export const EXCHANGE_TRIES = 3;
export const EXCHANGE_FIRST_WAIT_MS = 250;

export interface ExchangeOptions<T> {
  gateway: string;
  port: number;
  /** The request, built once the socket knows which local address it sends from. */
  build(localIp: string): Uint8Array;
  /** A parsed answer, or a string saying why this datagram is not one (it is then ignored). */
  accept(datagram: Uint8Array): T | string;
  /** A datagram that was not an acceptable answer (counted by the caller as a drop). */
  ignored?(): void;
  tries?: number;
  firstWaitMs?: number;
}

export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly code: 'no-answer' | 'refused' | 'socket',
    message: string,
  ) {
    super(message);
  }
}

/** Resolves with what `accept` returned for the first acceptable datagram; rejects with an ExchangeError. */
export function exchange<T>(o: ExchangeOptions<T>): Promise<{ answer: T; localIp: string }> {
  const tries = o.tries ?? EXCHANGE_TRIES;
  let wait = o.firstWaitMs ?? EXCHANGE_FIRST_WAIT_MS;
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    let sent = 0;
    let request: Uint8Array | null = null;
    let localIp = '';
    const finish = (err: Error | null, answer?: T): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      timer = null;
      sock.removeAllListeners('message');
      sock.on('error', () => {}); // a late ICMP error after close must not throw
      try {
        sock.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve({ answer: answer as T, localIp });
    };
    const send = (): void => {
      if (sent >= tries)
        return finish(new ExchangeError('no-answer', `no answer from ${o.gateway}:${o.port} after ${tries} tries`));
      sent++;
      sock.send(request as Uint8Array);
      timer = setTimeout(send, wait);
      wait *= 2;
    };
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') finish(new ExchangeError('refused', `${o.gateway}:${o.port} refused (no server)`));
      else finish(new ExchangeError('socket', `${o.gateway}:${o.port}: ${e.message}`));
    });
    sock.on('message', (msg, rinfo) => {
      // Connected: the kernel already filters by source; checked again so the rule is visible here.
      if (rinfo.address !== o.gateway || rinfo.port !== o.port) return o.ignored?.();
      const parsed = o.accept(msg);
      if (typeof parsed !== 'string') finish(null, parsed);
      else o.ignored?.();
    });
    sock.connect(o.port, o.gateway, () => {
      try {
        localIp = sock.address().address;
        request = o.build(localIp);
      } catch (e) {
        return finish(new ExchangeError('socket', (e as Error).message));
      }
      send();
    });
  });
}
