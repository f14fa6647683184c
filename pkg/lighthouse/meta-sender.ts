// How lighthouse (meta) messages leave a node: inside a tunnel, encoded in the layout the message names
// (docs/wire-format.md, "Lighthouse messages"). The client, the server and whoami answer through it.

import type { HostInfo } from '../hostmap/hostinfo.js';
import type { MetaMessage } from './meta.js';

export interface MetaSender {
  /** Sends `message` on `host`'s tunnel; one that cannot leave (no path yet) is dropped, as any tunnel packet. */
  send(host: HostInfo, message: MetaMessage): void;
}
