// UPnP-IGD client: SSDP search on the LAN, the device description, then SOAP AddPortMapping (again, to renew) and
// DeletePortMapping. Only a device at the default gateway's address is used: its search answer, its LOCATION and
// its control URL must all name that address, so an answer from another LAN host cannot point us elsewhere.

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { localIpToward } from './local-ip.js';
import {
  encodeMSearch,
  encodeSoapRequest,
  MAX_UPNP_BODY,
  parseIgdDescription,
  parseSoapResponse,
  parseSsdpResponse,
  SSDP_ADDR,
  SSDP_PORT,
  type IgdService,
} from './upnp-wire.js';
import type { MappingClient, MapRequest, PortMapping } from './types.js';

const SEARCH_TRIES = 3;
const SEARCH_WAIT_MS = 400;
const HTTP_TIMEOUT_MS = 2000;

interface UpnpHandle {
  service: IgdService;
}

/** The LOCATION of the IGD at `gateway`, from an SSDP search (bounded: SEARCH_TRIES searches). */
export function ssdpSearch(
  gateway: string,
  ignored?: () => void,
  tries = SEARCH_TRIES,
  waitMs = SEARCH_WAIT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    let sent = 0;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const finish = (err: Error | null, location?: string): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      sock.removeAllListeners('message');
      sock.on('error', () => {});
      try {
        sock.close();
      } catch {
        // closed
      }
      if (err) reject(err);
      else resolve(location as string);
    };
    const search = (): void => {
      if (sent++ >= tries) return finish(new Error(`UPnP: no IGD answered at ${gateway}`));
      sock.send(encodeMSearch(), SSDP_PORT, SSDP_ADDR);
      timer = setTimeout(search, waitMs);
    };
    sock.on('error', (e) => finish(new Error(`UPnP: ${e.message}`)));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== gateway) return ignored?.();
      const r = parseSsdpResponse(msg);
      if (typeof r === 'string' || new URL(r.location).hostname !== gateway) return ignored?.();
      finish(null, r.location);
    });
    sock.bind(0, () => {
      sock.setMulticastTTL(2);
      search();
    });
  });
}

/** An HTTP exchange with a bounded body and time. */
function http(
  url: string,
  method: 'GET' | 'POST',
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers:
          body === undefined
            ? headers
            : { ...headers, 'Content-Type': 'text/xml; charset="utf-8"', 'Content-Length': Buffer.byteLength(body) },
        timeout: HTTP_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_UPNP_BODY) {
            req.destroy(new Error('UPnP: answer too long'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`UPnP: ${url} did not answer in ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function soap(
  service: IgdService,
  action: string,
  args: ReadonlyArray<readonly [string, string | number]>,
  outputs: readonly string[] = [],
): Promise<Record<string, string>> {
  const res = await http(service.controlUrl, 'POST', encodeSoapRequest(service.serviceType, action, args), {
    SOAPAction: `"${service.serviceType}#${action}"`,
  });
  const parsed = parseSoapResponse(res.body, outputs);
  if ('fault' in parsed) throw new Error(`UPnP ${action}: ${parsed.fault}`);
  if (res.status !== 200) throw new Error(`UPnP ${action}: HTTP ${res.status}`);
  return parsed.ok;
}

export class UpnpClient implements MappingClient {
  readonly protocol = 'upnp' as const;

  constructor(private readonly ignored?: () => void) {}

  private async service(gateway: string): Promise<IgdService> {
    const location = await ssdpSearch(gateway, this.ignored);
    const desc = await http(location, 'GET');
    if (desc.status !== 200) throw new Error(`UPnP: description HTTP ${desc.status}`);
    const service = parseIgdDescription(desc.body, location);
    if (typeof service === 'string') throw new Error(`UPnP: ${service}`);
    if (new URL(service.controlUrl).hostname !== gateway) throw new Error('UPnP: control URL is not on the gateway');
    return service;
  }

  async map(req: MapRequest): Promise<PortMapping> {
    const prev = req.previous?.protocol === 'upnp' ? req.previous : undefined;
    const service = prev ? (prev.handle as UpnpHandle).service : await this.service(req.gateway);
    const internalClient = await localIpToward(req.gateway);
    const { NewExternalIPAddress: externalIp } = await soap(
      service,
      'GetExternalIPAddress',
      [],
      ['NewExternalIPAddress'],
    );
    const add = (externalPort: number) =>
      soap(service, 'AddPortMapping', [
        ['NewRemoteHost', ''],
        ['NewExternalPort', externalPort],
        ['NewProtocol', 'UDP'],
        ['NewInternalPort', req.internalPort],
        ['NewInternalClient', internalClient],
        ['NewEnabled', 1],
        ['NewPortMappingDescription', 'mesh'],
        ['NewLeaseDuration', req.lifetimeSec],
      ]);
    let externalPort = prev?.externalPort ?? req.internalPort;
    try {
      await add(externalPort);
    } catch (e) {
      // IGD has the client choose the external port (PCP and NAT-PMP servers pick another themselves): when another
      // host holds ours (718 ConflictInMappingEntry), one random port is tried, once.
      if (prev || !/UPnP error 718\b/.test((e as Error).message)) throw e;
      externalPort = 1024 + randomInt(64512);
      await add(externalPort);
    }
    return {
      protocol: 'upnp',
      gateway: req.gateway,
      externalIp: externalIp as string,
      externalPort,
      internalPort: req.internalPort,
      lifetimeSec: req.lifetimeSec,
      handle: { service } satisfies UpnpHandle,
    };
  }

  async unmap(m: PortMapping): Promise<void> {
    await soap((m.handle as UpnpHandle).service, 'DeletePortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', m.externalPort],
      ['NewProtocol', 'UDP'],
    ]);
  }
}
