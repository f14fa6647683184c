// The text formats UPnP-IGD speaks, parsed with bounds (every input here comes from the network):
//   SSDP   an HTTP-like M-SEARCH over UDP multicast, answered by "HTTP/1.1 200 OK" with a LOCATION header
//   XML    the device description at LOCATION, naming the WAN connection service and its control URL
//   SOAP   the control calls (GetExternalIPAddress, AddPortMapping, DeletePortMapping) and their faults
// Only the few elements mesh needs are looked for; nothing is evaluated, and no entity is expanded.

export const SSDP_ADDR = '239.255.255.250';
export const SSDP_PORT = 1900;
export const IGD_DEVICE = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
/** The services that can map a port, in the order mesh prefers them. */
export const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

/** Descriptions and SOAP answers longer than this are refused. */
export const MAX_UPNP_BODY = 64 * 1024;

export function encodeMSearch(st = IGD_DEVICE): Uint8Array {
  const text = `M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_ADDR}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ${st}\r\n\r\n`;
  return new TextEncoder().encode(text);
}

/** The LOCATION of an SSDP search answer, or a string saying why the datagram is not one. */
export function parseSsdpResponse(b: Uint8Array): { location: string } | string {
  if (b.length > 4096) return 'too long';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(b);
  const lines = text.split(/\r?\n/, 64);
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) return 'not a search answer';
  for (const line of lines.slice(1)) {
    const m = /^location\s*:\s*(\S+)\s*$/i.exec(line);
    if (m) {
      const url = safeHttpUrl(m[1] as string);
      return url === null ? 'bad location' : { location: url.href };
    }
  }
  return 'no location';
}

/** An http: URL (UPnP has no TLS), or null. */
export function safeHttpUrl(text: string, base?: string): URL | null {
  try {
    const url = new URL(text, base);
    return url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** The text of the first <name>…</name> inside `xml` (namespace prefix allowed), entities for <>&"' decoded. */
export function xmlElement(xml: string, name: string): string | null {
  const m = new RegExp(
    `<(?:[A-Za-z0-9_]+:)?${name}(?:\\s[^>]{0,512})?>([^<]{0,2048})</(?:[A-Za-z0-9_]+:)?${name}>`,
  ).exec(xml);
  if (!m) return null;
  return (m[1] as string)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

export interface IgdService {
  serviceType: string;
  controlUrl: string;
}

/** The preferred WAN connection service of a device description fetched from `location`, or why there is none. */
export function parseIgdDescription(xml: string, location: string): IgdService | string {
  if (xml.length > MAX_UPNP_BODY) return 'description too long';
  const base = xmlElement(xml, 'URLBase') || location;
  const services: IgdService[] = [];
  const re = /<(?:[A-Za-z0-9_]+:)?service>([\s\S]{0,4096}?)<\/(?:[A-Za-z0-9_]+:)?service>/g;
  for (let m = re.exec(xml), n = 0; m !== null && n < 64; m = re.exec(xml), n++) {
    const body = m[1] as string;
    const serviceType = xmlElement(body, 'serviceType');
    const control = xmlElement(body, 'controlURL');
    if (serviceType === null || control === null || !(WAN_SERVICES as readonly string[]).includes(serviceType))
      continue;
    const url = safeHttpUrl(control, safeHttpUrl(base)?.href ?? location);
    if (url) services.push({ serviceType, controlUrl: url.href });
  }
  services.sort((a, b) => WAN_SERVICES.indexOf(a.serviceType as never) - WAN_SERVICES.indexOf(b.serviceType as never));
  return services[0] ?? 'no WAN connection service';
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function encodeSoapRequest(
  serviceType: string,
  action: string,
  args: ReadonlyArray<readonly [string, string | number]>,
): string {
  const body = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('');
  return (
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
    `<u:${action} xmlns:u="${xmlEscape(serviceType)}">${body}</u:${action}></s:Body></s:Envelope>\r\n`
  );
}

/** A SOAP answer: the named output arguments, or the UPnP fault (errorCode/errorDescription). */
export function parseSoapResponse(
  xml: string,
  outputs: readonly string[],
): { ok: Record<string, string> } | { fault: string } {
  if (xml.length > MAX_UPNP_BODY) return { fault: 'answer too long' };
  const code = xmlElement(xml, 'errorCode');
  if (code !== null)
    return {
      fault: `UPnP error ${code}${xmlElement(xml, 'errorDescription') ? ` (${xmlElement(xml, 'errorDescription')})` : ''}`,
    };
  if (/<(?:[A-Za-z0-9_]+:)?Fault>/.test(xml)) return { fault: 'SOAP fault' };
  const ok: Record<string, string> = {};
  for (const name of outputs) {
    const v = xmlElement(xml, name);
    if (v === null) return { fault: `no ${name} in the answer` };
    ok[name] = v;
  }
  return { ok };
}
