// Runs a function once the current JavaScript task is done, before the event loop moves on: what the data path's
// batches use to flush (pkg/datapath/seal-batch.ts, open-batch.ts, tun-batch.ts, pkg/udp/batch-conn.ts), the
// addon's poll callback running the microtask queue right after each batch (pkg/native/poll.c).
//
// A reaction on one settled promise rather than node's queueMicrotask: both go on V8's one microtask queue, in
// order, but queueMicrotask makes an AsyncResource and a bound function per call and runs the callback through
// about ten JavaScript functions of node's (validation, async-context push and pop), which a daemon woken for a
// single packet runs cold, twice per packet and direction. A reaction is one V8 builtin job. Not tracked by
// async_hooks; nothing in the data path uses them.
//
// `fn` must not throw: a throw becomes an unhandled rejection, which node (--unhandled-rejections=throw, the default)
// turns into an uncaught exception, as it would for queueMicrotask. The batches catch their own.

const settled = Promise.resolve();

export function atTurnEnd(fn: () => void): void {
  void settled.then(fn);
}
