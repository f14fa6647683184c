// `mesh ping [-c COUNT] [-i INTERVAL] [-W TIMEOUT] HOST`, flags before or after HOST as ping(8) takes them: test
// messages through the tunnel (made on demand), one line per reply with its RTT and path, a line when the path
// changes (relayed -> direct), and ping(8)'s summary, also after Ctrl-C. Exit status as ping(8)'s: 0 when any reply
// came back, 1 when none did, 2 on an error (bad flags, no daemon, unknown host).

import { ControlError, ControlErrorCode } from '../../pkg/control/protocol.js';
import type { PingReply } from '../../pkg/control/reports.js';
import { renderPathChange, renderPingReply, renderPingSummary } from '../../pkg/control/render-ping.js';
import type { CliIo } from './cli-io.js';
import { hostArgument, runClientCommand } from './client-command.js';
import { PING_FLAGS, pingExitStatus, pingOptions } from './ping-options.js';

export const pingSummary = 'send test messages through the tunnel to HOST and show RTT and path';

const ERROR_STATUS = 2;

export function pingCommand(argv: string[], io: CliIo): Promise<number> {
  return runClientCommand(
    'mesh ping [flags] HOST',
    pingSummary,
    PING_FLAGS,
    argv,
    io,
    async (flags, client) => {
      const host = hostArgument(flags);
      const { count, intervalMs, timeoutMs } = pingOptions(flags);
      // Ctrl-C ends the run where it is (a reply awaited or a wait between probes) and goes to the summary.
      let interrupted = false;
      let wake = (): void => {};
      const interrupt = new Promise<'interrupted'>((resolve) => {
        wake = () => resolve('interrupted');
      });
      const release = io.onInterrupt?.(() => {
        interrupted = true;
        wake();
      });
      const rtts: number[] = [];
      let previous: PingReply | null = null;
      let target = host;
      let sent = 0;
      const start = Date.now();
      try {
        while (sent < count && !interrupted) {
          const seq = ++sent;
          const sentAt = Date.now();
          try {
            const request = client.request<PingReply>('ping', { host, timeoutMs }, timeoutMs + 5000);
            request.catch(() => {}); // still pending when Ctrl-C wins the race: closing the client fails it
            const reply = await Promise.race([request, interrupt]);
            if (reply === 'interrupted') break;
            target = `${reply.name} (${reply.vpnIp})`;
            rtts.push(reply.rttMs);
            if (flags.values.json) io.stdout(JSON.stringify({ seq, ...reply }) + '\n');
            else io.stdout(renderPathChange(previous, reply) + renderPingReply(reply, seq));
            previous = reply;
          } catch (e) {
            if (!(e instanceof ControlError) || e.code !== ControlErrorCode.timeout) throw e;
            if (flags.values.json) io.stdout(JSON.stringify({ seq, error: e.message }) + '\n');
            else io.stdout(`no reply: seq=${seq} ${e.message}\n`);
          }
          const wait = intervalMs - (Date.now() - sentAt);
          if (sent < count && wait > 0 && !interrupted) {
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([new Promise((r) => (timer = setTimeout(r, wait))), interrupt]);
            clearTimeout(timer);
          }
        }
      } finally {
        release?.();
      }
      if (!flags.values.json) io.stdout(renderPingSummary(target, sent, rtts, Date.now() - start));
      return pingExitStatus(rtts.length);
    },
    ERROR_STATUS,
  );
}
