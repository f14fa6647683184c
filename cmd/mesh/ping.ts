// `mesh ping [-c COUNT] [-i INTERVAL] [-W TIMEOUT] HOST`, flags before or after HOST as ping(8) takes them: test
// messages through the tunnel (made on demand), one line per reply with its RTT and path, a line when the path
// changes (relayed -> direct), and ping(8)'s summary. Exit status as ping(8)'s: 0 when any reply came back, 1 when
// none did, 2 on an error (bad flags, no daemon, unknown host).

import { ControlError, ControlErrorCode } from '../../pkg/control/protocol.js';
import type { PingReply } from '../../pkg/control/reports.js';
import { renderPathChange, renderPingReply, renderPingSummary } from '../../pkg/control/render-ping.js';
import type { CliIo } from './cli-io.js';
import { hostArgument, runClientCommand } from './client-command.js';
import { PING_FLAGS, pingExitStatus, pingOptions } from './ping-options.js';

export const pingSummary = 'send test messages through the tunnel to HOST and show RTT and path';

const ERROR_STATUS = 2;

export function pingCommand(argv: string[], io: CliIo): Promise<number> {
  return runClientCommand('mesh ping [flags] HOST', pingSummary, PING_FLAGS, argv, io, async (flags, client) => {
    const host = hostArgument(flags);
    const { count, intervalMs, timeoutMs } = pingOptions(flags);
    const rtts: number[] = [];
    let previous: PingReply | null = null;
    let target = host;
    const start = Date.now();
    for (let seq = 1; seq <= count; seq++) {
      const sent = Date.now();
      try {
        const reply = await client.request<PingReply>('ping', { host, timeoutMs }, timeoutMs + 5000);
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
      const wait = intervalMs - (Date.now() - sent);
      if (seq < count && wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (!flags.values.json) io.stdout(renderPingSummary(target, count, rtts, Date.now() - start));
    return pingExitStatus(rtts.length);
  }, ERROR_STATUS);
}
