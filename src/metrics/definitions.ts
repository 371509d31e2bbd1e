/**
 * The one table of the integration's metrics, which the Prometheus and the OpenTelemetry adapters
 * both register from. Flagsmith's conventions: snake_case under one prefix, counters `*_total`,
 * histograms and gauges named with their unit, gauges for levels. Labels are bounded: a fixed set
 * of values, or the environment key at most; never an identifier, never a write key.
 *
 * Counters and gauges are read at collection time from state the integration keeps anyway
 * (`stats()`, `destinations()`, the request counts, the outbox status); histograms are observed
 * per request where delivery already reports one. Nothing is counted in the hook.
 */
import { healthOf, STATUS_CLASSES, type DestinationHealth, type RequestSample, type StatusClass } from '../delivery/destination-health';
import type { RudderStackIntegration } from '../integration';
import type { OutboxStatus } from '../outbox/postgres-outbox';
import type { DestinationState, DestinationStatus, IntegrationStats } from '../types';

/** The prefix metric names get unless told otherwise. */
export const DEFAULT_PREFIX = 'flagsmith_rudderstack_';

/** Everything counters and gauges are read from, read once per collection. */
export interface MetricsReading {
  stats: IntegrationStats;
  destinations: DestinationStatus[];
  requests: Readonly<Record<StatusClass, number>>;
  /** Undefined without a durable outbox. */
  outbox: OutboxStatus | undefined;
}

/** One value of a metric, under its labels. */
export interface Observation {
  labels: Readonly<Record<string, string>>;
  value: number;
}

interface Definition {
  /** The Prometheus name without the prefix. OpenTelemetry's is the same without `_total` (its exporters add it back). */
  name: string;
  help: string;
  labelNames: readonly string[];
  /** The unit in UCUM, as OpenTelemetry takes it. */
  unit: string;
}

/** A counter or a gauge, read at collection time. */
export interface ReadMetric extends Definition {
  type: 'counter' | 'gauge';
  read(reading: MetricsReading): Observation[];
}

/** A histogram, observed once per request that reached the network. */
export interface HistogramMetric extends Definition {
  type: 'histogram';
  buckets: readonly number[];
  valueOf(sample: RequestSample): number;
}

export type MetricDefinition = ReadMetric | HistogramMetric;

/** Every state, in the order `destinations{state}` lists them; the compiler keeps it complete. */
const DESTINATION_STATES = Object.keys({ idle: 0, sending: 0, retrying: 0, paused: 0, refused: 0 } satisfies Record<DestinationState, 0>) as DestinationState[];
/** States worth naming the environment for: the others are how a destination should be. */
const TROUBLED_STATES: ReadonlySet<DestinationState> = new Set(['paused', 'retrying', 'refused']);
const SETTLED_OUTCOMES = ['delivered', 'skipped', 'unchanged'] as const;
const OUTBOX_OPERATIONS = ['persisted', 'claimed', 'parked'] as const;

/** Up to `requestTimeoutMs`' default (10 s). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** `flushAt` is 100 by default; a backlog drains in batches of up to `maxBatchBytes`. */
const EVENT_BUCKETS = [1, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000];
/** Up to the data plane's 4 000 KiB limit. */
const BYTE_BUCKETS = [1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304];

const single = (value: number): Observation[] => [{ labels: {}, value }];

export const METRICS: readonly MetricDefinition[] = [
  {
    type: 'counter',
    name: 'events_received_total',
    help: 'Hook calls (postIdentityFetch).',
    unit: '{event}',
    labelNames: [],
    read: ({ stats }) => single(stats.received),
  },
  {
    type: 'counter',
    name: 'events_total',
    help: 'Events that ended without a drop, by outcome: delivered (answered 2xx), skipped (integration not enabled), unchanged (sendOnlyOnChange).',
    unit: '{event}',
    labelNames: ['outcome'],
    read: ({ stats }) => SETTLED_OUTCOMES.map((outcome) => ({ labels: { outcome }, value: stats[outcome] })),
  },
  {
    type: 'counter',
    name: 'events_dropped_total',
    help: 'Events given up, by reason (the reasons of stats().dropped).',
    unit: '{event}',
    labelNames: ['reason'],
    read: ({ stats }) => Object.entries(stats.dropped).map(([reason, value]) => ({ labels: { reason }, value })),
  },
  {
    type: 'counter',
    name: 'outbox_events_total',
    help: 'Durable outbox: events written to it (persisted), rows taken from it to send or drop (claimed), rows handed back to it for a later attempt (parked).',
    unit: '{event}',
    labelNames: ['operation'],
    read: ({ stats, outbox }) => (outbox ? OUTBOX_OPERATIONS.map((operation) => ({ labels: { operation }, value: stats[operation] })) : []),
  },
  {
    type: 'counter',
    name: 'events_split_total',
    help: 'Extra events made by splitting identifies over maxEventBytes.',
    unit: '{event}',
    labelNames: [],
    read: ({ stats }) => single(stats.splitEvents),
  },
  {
    type: 'counter',
    name: 'traits_dropped_total',
    help: 'Traits left out because one alone exceeds maxEventBytes.',
    unit: '{trait}',
    labelNames: [],
    read: ({ stats }) => single(stats.traitsDropped),
  },
  {
    type: 'counter',
    name: 'retries_total',
    help: 'HTTP attempts after the first of a batch.',
    unit: '{request}',
    labelNames: [],
    read: ({ stats }) => single(stats.retried),
  },
  {
    type: 'counter',
    name: 'requests_total',
    help: 'HTTP requests to data planes, by status class (2xx to 5xx, other), or timeout or network_error when no status came.',
    unit: '{request}',
    labelNames: ['status_class'],
    read: ({ requests }) => STATUS_CLASSES.map((statusClass) => ({ labels: { status_class: statusClass }, value: requests[statusClass] })),
  },
  {
    type: 'histogram',
    name: 'request_duration_seconds',
    help: "A request's own time: from handing its body to the network to its status or failure (no compression, no retry wait).",
    unit: 's',
    labelNames: [],
    buckets: DURATION_BUCKETS,
    valueOf: (sample) => sample.durationMs / 1_000,
  },
  {
    type: 'histogram',
    name: 'batch_size_events',
    help: 'Events per request.',
    unit: '{event}',
    labelNames: [],
    buckets: EVENT_BUCKETS,
    valueOf: (sample) => sample.events,
  },
  {
    type: 'histogram',
    name: 'batch_size_bytes',
    help: 'Request body bytes on the wire (after gzip).',
    unit: 'By',
    labelNames: [],
    buckets: BYTE_BUCKETS,
    valueOf: (sample) => sample.bytes,
  },
  {
    type: 'gauge',
    name: 'queued_events',
    help: 'Events held and waiting: for their settings or for a batch.',
    unit: '{event}',
    labelNames: [],
    read: ({ stats }) => single(stats.queued),
  },
  {
    type: 'gauge',
    name: 'in_flight_events',
    help: 'Events in a request or waiting to retry one.',
    unit: '{event}',
    labelNames: [],
    read: ({ stats }) => single(stats.inFlight),
  },
  {
    type: 'gauge',
    name: 'destinations',
    help: 'Destinations (data plane URL and write key) by state: idle, sending, retrying, paused, refused.',
    unit: '{destination}',
    labelNames: ['state'],
    read: ({ destinations }) => DESTINATION_STATES.map((state) => ({ labels: { state }, value: destinations.filter((d) => d.state === state).length })),
  },
  {
    type: 'gauge',
    name: 'environment_destination_state',
    help: 'One series of value 1 for each environment whose destination is paused, retrying or refused, under that state; none for the others.',
    unit: '1',
    labelNames: ['environment_key', 'state'],
    read: ({ destinations }) =>
      destinations
        .filter((destination) => TROUBLED_STATES.has(destination.state))
        .flatMap(({ environmentKeys, state }) => environmentKeys.map((environmentKey) => ({ labels: { environment_key: environmentKey, state }, value: 1 }))),
  },
  {
    type: 'counter',
    name: 'config_lookup_errors_total',
    help: 'Settings lookups that failed or took longer than 5 s.',
    unit: '{error}',
    labelNames: [],
    read: ({ stats }) => single(stats.configErrors),
  },
  {
    type: 'gauge',
    name: 'outbox_pending_events',
    help: 'Events in the durable outbox not yet delivered or dropped, by environment (no series without a durable outbox, or with nothing pending).',
    unit: '{event}',
    labelNames: ['environment_key'],
    read: ({ outbox }) => (outbox?.environments ?? []).map(({ environmentKey, pending }) => ({ labels: { environment_key: environmentKey }, value: pending })),
  },
  {
    type: 'gauge',
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest event pending in the durable outbox, by environment.',
    unit: 's',
    labelNames: ['environment_key'],
    read: ({ outbox }) =>
      (outbox?.environments ?? []).map(({ environmentKey, oldestAgeMs }) => ({ labels: { environment_key: environmentKey }, value: oldestAgeMs / 1_000 })),
  },
];

/** The integration's delivery health; a TypeError for anything that is not a RudderStackIntegration of this package. */
export function healthFor(integration: RudderStackIntegration, adapter: string): DestinationHealth {
  const health = healthOf(integration);
  if (!health) throw new TypeError(`${adapter} needs a RudderStackIntegration of flagsmith-rudderstack, made with new RudderStackIntegration(...)`);
  return health;
}

/** One read of everything counters and gauges show. */
export async function readMetrics(integration: RudderStackIntegration, health: DestinationHealth): Promise<MetricsReading> {
  const stats = integration.stats();
  const destinations = integration.destinations();
  const requests = health.requests();
  // A status that cannot be read (the database is down) leaves the outbox series out of this
  // collection rather than failing every metric with it.
  const outbox = await integration.outboxStatus().catch(() => undefined);
  return { stats, destinations, requests, outbox };
}
