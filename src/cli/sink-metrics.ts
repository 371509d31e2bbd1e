/**
 * `sink --metrics-port`: what the local data plane received, as Prometheus metrics, to set beside
 * the integration's own (README "Monitoring") when rehearsing an outage with `--fail-rate`.
 */
import type { Registry } from 'prom-client';
import { requireOptionalPeer } from '../host/flagsmith-nodejs';
import type { ReceivedRequest } from '../testing/local-data-plane';

export interface SinkMetrics {
  readonly registry: Registry;
  /** An accepted batch of `events` events. */
  accepted(events: number): void;
  /** A request settled, answered or not. */
  settled(request: ReceivedRequest): void;
}

/** Needs prom-client (the command checks first). */
export function sinkMetrics(): SinkMetrics {
  const prom = requireOptionalPeer<typeof import('prom-client')>('prom-client');
  const registry = new prom.Registry();
  const events = new prom.Counter({
    name: 'flagsmith_rudderstack_sink_events_received_total',
    help: 'Events in the batches the local data plane accepted.',
    registers: [registry],
  });
  const requests = new prom.Counter({
    name: 'flagsmith_rudderstack_sink_requests_total',
    help: 'Requests the local data plane settled, by the class of its answer; no_answer: reset, hung, dropped, or the client went away.',
    labelNames: ['status_class'],
    registers: [registry],
  });
  return {
    registry,
    accepted: (count) => events.inc(count),
    settled: (request) => requests.inc({ status_class: request.status === null ? 'no_answer' : `${Math.floor(request.status / 100)}xx` }),
  };
}
