import type { DropReason, IntegrationStats } from './types';

const DROP_REASONS: readonly DropReason[] = [
  'queue_full',
  'invalid_settings',
  'config_error',
  'invalid_input',
  'no_user_id',
  'event_too_large',
  'rejected',
  'retries_exhausted',
  'closed',
  'close_timeout',
  'expired',
  'outbox_full',
];

/** The integration's running counts; `snapshot` gives the plain-number form `stats()` returns. */
export class Counters {
  received = 0;
  skipped = 0;
  enqueued = 0;
  delivered = 0;
  retried = 0;
  configErrors = 0;
  splitEvents = 0;
  traitsDropped = 0;
  inFlight = 0;
  unchanged = 0;
  persisted = 0;
  claimed = 0;
  parked = 0;
  readonly dropped = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>;

  snapshot(held: number): IntegrationStats {
    return {
      received: this.received,
      skipped: this.skipped,
      enqueued: this.enqueued,
      delivered: this.delivered,
      retried: this.retried,
      dropped: { ...this.dropped },
      configErrors: this.configErrors,
      splitEvents: this.splitEvents,
      traitsDropped: this.traitsDropped,
      queued: held - this.inFlight,
      inFlight: this.inFlight,
      unchanged: this.unchanged,
      persisted: this.persisted,
      claimed: this.claimed,
      parked: this.parked,
    };
  }
}
