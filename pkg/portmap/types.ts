// What the port-mapping protocols have in common: one UDP port mapped on the gateway, for a while.

export type PortMapProtocol = 'pcp' | 'nat-pmp' | 'upnp';

/** A mapping the gateway granted: packets to externalIp:externalPort reach our internalPort. */
export interface PortMapping {
  protocol: PortMapProtocol;
  /** Whom we asked (the default gateway, or the UPnP device that answered there). */
  gateway: string;
  externalIp: string;
  externalPort: number;
  internalPort: number;
  lifetimeSec: number;
  /** Protocol state needed to renew and delete (the PCP nonce, the UPnP control URL). */
  handle: unknown;
}

export interface MapRequest {
  gateway: string;
  internalPort: number;
  lifetimeSec: number;
  /** The mapping being renewed: the same external port is asked for again. */
  previous?: PortMapping;
}

/** One protocol's client. Both methods reject with an Error whose message says what failed (it is reported). */
export interface MappingClient {
  readonly protocol: PortMapProtocol;
  map(req: MapRequest): Promise<PortMapping>;
  unmap(m: PortMapping): Promise<void>;
}
