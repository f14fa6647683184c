// The NATS client packages, in one module that nats-store.ts imports on demand: only a lighthouse whose
// lighthouse.store names NATS loads them. scripts/bundle.mjs builds this file as a chunk of its own
// (dist/bin/lighthouse-nats.bundle.cjs), so the daemon's bundle and start-up do not grow for everybody else.

export { connect } from '@nats-io/transport-node';
export { jetstream } from '@nats-io/jetstream';
export { Kvm } from '@nats-io/kv';
