// NAT-PMP client (RFC 6886): the external address, then a UDP mapping; lifetime 0 deletes it. Written here rather
// than taken from npm for the reasons in manager.ts; the messages are 2 to 16 bytes (natpmp-wire.ts).

import { exchange } from './gateway-exchange.js';
import {
  encodeNatPmpAddressRequest,
  encodeNatPmpMapUdp,
  NATPMP_OP_ADDRESS,
  NATPMP_OP_MAP_UDP,
  NatPmpResult,
  parseNatPmpResponse,
  type NatPmpAddressResponse,
  type NatPmpMapResponse,
} from './natpmp-wire.js';
import { PCP_PORT } from './pcp-wire.js';
import type { MappingClient, MapRequest, PortMapping } from './types.js';

function failed(result: number): Error {
  return new Error(`NAT-PMP: ${NatPmpResult[result] ?? `result ${result}`}`);
}

export class NatPmpClient implements MappingClient {
  readonly protocol = 'nat-pmp' as const;

  constructor(
    private readonly port = PCP_PORT,
    private readonly ignored?: () => void,
  ) {}

  private async mapUdp(
    gateway: string,
    internalPort: number,
    suggestedPort: number,
    lifetimeSec: number,
  ): Promise<NatPmpMapResponse> {
    const { answer } = await exchange<NatPmpMapResponse>({
      gateway,
      port: this.port,
      ignored: this.ignored,
      build: () => encodeNatPmpMapUdp(internalPort, suggestedPort, lifetimeSec),
      accept: (d) => {
        const r = parseNatPmpResponse(d);
        if (typeof r === 'string') return r;
        if (r.op !== NATPMP_OP_MAP_UDP) return 'not a map response';
        if (r.result === 0 && r.internalPort !== internalPort) return 'not our mapping';
        return r;
      },
    });
    if (answer.result !== 0) throw failed(answer.result);
    return answer;
  }

  async map(req: MapRequest): Promise<PortMapping> {
    const { answer: address } = await exchange<NatPmpAddressResponse>({
      gateway: req.gateway,
      port: this.port,
      ignored: this.ignored,
      build: encodeNatPmpAddressRequest,
      accept: (d) => {
        const r = parseNatPmpResponse(d);
        return typeof r === 'string' ? r : r.op === NATPMP_OP_ADDRESS ? r : 'not an address response';
      },
    });
    if (address.result !== 0) throw failed(address.result);
    const prev = req.previous?.protocol === 'nat-pmp' ? req.previous : undefined;
    const r = await this.mapUdp(req.gateway, req.internalPort, prev?.externalPort ?? req.internalPort, req.lifetimeSec);
    if (r.externalPort === 0 || r.lifetimeSec === 0) throw new Error('NAT-PMP: the server granted no port');
    return {
      protocol: 'nat-pmp',
      gateway: req.gateway,
      externalIp: address.externalIp,
      externalPort: r.externalPort,
      internalPort: req.internalPort,
      lifetimeSec: r.lifetimeSec,
      handle: null,
    };
  }

  async unmap(m: PortMapping): Promise<void> {
    // RFC 6886 §3.4: a delete names the internal port, with external port and lifetime 0.
    await this.mapUdp(m.gateway, m.internalPort, 0, 0);
  }
}
