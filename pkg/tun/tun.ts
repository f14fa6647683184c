// The tun package's public face: the seam, its two implementations, and its error.
//
//   device.ts   TunDevice / PacketBatch: the contract (batches, buffer ownership, close)
//   open.ts     openTun: create + configure a Linux TUN
//   linux.ts    LinuxTun: the fd, batched reads woken by the event loop, batched writes
//   iproute.ts  addresses (IPv4 and IPv6), MTU and routes via iproute2
//   ipv6-sysctl.ts  the device's own accept_ra = 0
//   addon.ts    loads the C addon (native/, built by binding.gyp)
//   memory.ts   MemoryTun: the in-memory twin for tests

export type { PacketBatch, TunDevice, TunStats } from './device.js';
export { TunError, type TunErrorCode } from './errors.js';
export { DEFAULT_TX_QUEUE_LEN, tunNetworks, type TunConfig, type TunRoute, type UnsafeTunRoute } from './iproute.js';
export { DEFAULT_BATCH_SIZE, LinuxTun } from './linux.js';
export { MemoryTun, type MemoryTunOptions } from './memory.js';
export { openTun, type OpenTunOptions } from './open.js';
