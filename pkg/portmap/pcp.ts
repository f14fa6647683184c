// PCP client (RFC 6887): MAP to create and renew (same nonce, RFC 6887 §11.2), MAP with lifetime 0 to delete.
// No npm client for PCP fits (see manager.ts), and the message is a fixed 60 bytes (pcp-wire.ts).

import { randomBytes } from 'node:crypto';

import { sameBytes } from '../bytes/same-bytes.js';
import { exchange } from './gateway-exchange.js';
import {
  encodePcpMap,
  IPPROTO_UDP,
  parsePcpMapResponse,
  PCP_PORT,
  PcpResult,
  type PcpMapResponse,
} from './pcp-wire.js';
import type { MappingClient, MapRequest, PortMapping } from './types.js';

interface PcpHandle {
  nonce: Uint8Array;
}

export class PcpClient implements MappingClient {
  readonly protocol = 'pcp' as const;

  constructor(
    private readonly port = PCP_PORT,
    private readonly ignored?: () => void,
  ) {}

  private async request(
    gateway: string,
    nonce: Uint8Array,
    internalPort: number,
    suggestedPort: number,
    suggestedIp: string,
    lifetimeSec: number,
  ): Promise<PcpMapResponse> {
    const { answer } = await exchange<PcpMapResponse>({
      gateway,
      port: this.port,
      ignored: this.ignored,
      build: (clientIp) => encodePcpMap({ lifetimeSec, clientIp, nonce, internalPort, suggestedPort, suggestedIp }),
      accept: (d) => {
        const r = parsePcpMapResponse(d);
        if (typeof r === 'string') return r;
        // An answer to another request (or a forgery without our nonce) is not ours.
        if (
          r.result === 0 &&
          (!sameBytes(r.nonce, nonce) || r.protocol !== IPPROTO_UDP || r.internalPort !== internalPort)
        )
          return 'not our mapping';
        return r;
      },
    });
    if (answer.result !== 0) throw new Error(`PCP: ${PcpResult[answer.result] ?? `result ${answer.result}`}`);
    return answer;
  }

  async map(req: MapRequest): Promise<PortMapping> {
    const prev = req.previous?.protocol === 'pcp' ? req.previous : undefined;
    const nonce = prev ? (prev.handle as PcpHandle).nonce : new Uint8Array(randomBytes(12));
    const r = await this.request(
      req.gateway,
      nonce,
      req.internalPort,
      prev?.externalPort ?? req.internalPort,
      prev?.externalIp ?? '0.0.0.0',
      req.lifetimeSec,
    );
    if (r.externalIp === null) throw new Error('PCP: the server mapped an IPv6 address');
    if (r.externalPort === 0 || r.lifetimeSec === 0) throw new Error('PCP: the server granted no port');
    return {
      protocol: 'pcp',
      gateway: req.gateway,
      externalIp: r.externalIp,
      externalPort: r.externalPort,
      internalPort: req.internalPort,
      lifetimeSec: r.lifetimeSec,
      handle: { nonce } satisfies PcpHandle,
    };
  }

  async unmap(m: PortMapping): Promise<void> {
    await this.request(m.gateway, (m.handle as PcpHandle).nonce, m.internalPort, 0, '0.0.0.0', 0);
  }
}
