// A daemon's packets' ways through its process, read from a `perf script -F pid,tid,time,event,trace` of the
// raw_syscalls and exceptions:page_fault_user tracepoints (bench/wake-probe.ts --record): how long from the syscall
// that returned a packet to the one that sent it on, split into the first packet after the process was idle (its
// cold path: caches, TLBs and whatever the process does first on waking) and the ones right after it (warm). Each
// path also says what came in (a TUN read or a UDP receive), how long from the thread's epoll wake-up to that read's
// return, and how many other syscalls the process made on the way (a read that found nothing more, a timer).

import { median, quantile } from './proc-stats.js';

/** x86-64 syscall numbers of a packet coming in (read, readv, recvfrom, recvmsg, recvmmsg) and going out. */
const PACKET_IN = new Set([0, 19, 45, 47, 299]);
const PACKET_OUT = new Set([1, 20, 44, 46, 307]);
const RECVMMSG = 299;
/** UDP receives; the other packet reads (read, readv) are a TUN's. */
const UDP_IN = new Set([45, 47, 299]);
/** epoll_wait, epoll_pwait, epoll_pwait2: a thread's wake-up from its event loop. */
const EPOLL = new Set([232, 281, 441]);
/** Shorter reads are not packets: the Go runtime's 1-byte wake-up reads, netlink answers (an IPv4 header + ICMP). */
const MIN_PACKET = 28;
/** Longer is not one packet's way through (a read whose packet went nowhere, e.g. a keep-alive answered later). */
const MAX_PATH_S = 0.05;
/** A process idle this long before a packet is woken from idle: its first path is the cold one. */
export const IDLE_GAP_S = 0.1;

export interface PacketPath {
  /** From the syscall that returned the packet to the one that sent it on, in us. */
  us: number;
  /** The first packet after IDLE_GAP_S of no packets. */
  cold: boolean;
  /** Page faults of the process between the two. */
  faults: number;
  /** What the packet came from. */
  via: 'tun' | 'udp';
  /** From the reading thread's last epoll return to the packet read's return, in us (-1: no epoll since). */
  wakeUs: number;
  /** Syscalls of the process from the packet read's return to the send (a read that found no more, a timer). */
  syscalls: number;
}

/**
 * Every packet's way through process `pid`: the last read that returned a packet, then the write-like syscall that
 * sent some (a TUN write or a UDP send; 8-byte writes are event-fd wake-ups, not packets). Both implementations'
 * processes qualify (nebula reads and writes on several threads; the process is what is followed).
 */
export function packetPaths(script: string, pid: number, idleGapS = IDLE_GAP_S): PacketPath[] {
  const paths: PacketPath[] = [];
  const epollAt = new Map<number, number>();
  let inAt = -1;
  let faults = 0;
  let syscalls = 0;
  let lastPacket = -Infinity;
  let cold = false;
  let via: PacketPath['via'] = 'tun';
  let wakeUs = -1;
  for (const line of script.split('\n')) {
    const m = /^\s*(\d+)\/(\d+)\s+([\d.]+):\s+(\S+):\s+(?:NR (\d+)(?: = (-?\d+)|\s+\(\w+,\s*\w+,\s*(\w+)))?/.exec(line);
    if (m === null || Number(m[1]) !== pid) continue;
    const tid = Number(m[2]);
    const t = Number(m[3]);
    const event = m[4];
    if (event === 'exceptions:page_fault_user') {
      if (inAt >= 0) faults++;
      continue;
    }
    const nr = Number(m[5]);
    if (event === 'raw_syscalls:sys_exit' && EPOLL.has(nr)) {
      epollAt.set(tid, t);
    } else if (
      event === 'raw_syscalls:sys_exit' &&
      PACKET_IN.has(nr) &&
      Number(m[6]) >= (nr === RECVMMSG ? 1 : MIN_PACKET)
    ) {
      cold = t - lastPacket > idleGapS;
      inAt = t;
      faults = 0;
      syscalls = 0;
      via = UDP_IN.has(nr) ? 'udp' : 'tun';
      const woke = epollAt.get(tid);
      wakeUs = woke === undefined ? -1 : (t - woke) * 1e6;
      epollAt.delete(tid);
    } else if (event === 'raw_syscalls:sys_enter' && PACKET_OUT.has(nr) && inAt >= 0) {
      if (nr === 1 && Number.parseInt(m[7] ?? '0', 16) === 8) continue;
      if (t - inAt < MAX_PATH_S) paths.push({ us: (t - inAt) * 1e6, cold, faults, via, wakeUs, syscalls });
      lastPacket = t;
      inAt = -1;
    } else if (event === 'raw_syscalls:sys_enter' && inAt >= 0) {
      syscalls++;
    }
  }
  return paths;
}

export function describePaths(paths: PacketPath[]): string {
  const part = (cold: boolean, via: PacketPath['via']): string | null => {
    const p = paths.filter((x) => x.cold === cold && x.via === via);
    if (p.length === 0) return null;
    const us = p.map((x) => x.us);
    const mean = (f: (x: PacketPath) => number): string => (p.reduce((sum, x) => sum + f(x), 0) / p.length).toFixed(2);
    const woke = p.filter((x) => x.wakeUs >= 0).map((x) => x.wakeUs);
    const wake = woke.length === 0 ? '' : `, epoll -> read ${median(woke).toFixed(1)} us`;
    return `${cold ? 'cold' : 'warm'} ${via} ${p.length}: median ${median(us).toFixed(0)} us, p90 ${quantile(us, 0.9).toFixed(0)} us${wake}, ${mean((x) => x.syscalls)} syscalls, ${mean((x) => x.faults)} faults`;
  };
  const parts = [true, false].flatMap((cold) => (['tun', 'udp'] as const).map((via) => part(cold, via)));
  return parts.filter((x) => x !== null).join('; ') || 'none';
}
