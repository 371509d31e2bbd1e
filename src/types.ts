/** Public types of the package: the shapes fixed by the API contract. */
import type { PostgresOutbox } from './outbox/postgres-outbox';

/** Exactly what Flagsmith stores for its RudderStack integration, one row per environment. */
export interface RudderStackSettings {
  /** RudderStack HTTP source write key, 1..100 characters, not blank. */
  api_key: string;
  /** Data plane URL; absent or null means "https://hosted.rudderlabs.com". */
  base_url?: string | null;
}

/** Settings after validation: what delivery uses. */
export interface ValidatedSettings {
  /** The write key (`api_key`), as given. */
  writeKey: string;
  /** No trailing slash, no pasted `/v1/batch` or `/v1/identify`. */
  dataPlaneUrl: string;
}

/** Options of `validateSettings`. */
export interface ValidateSettingsOptions {
  /** Admit localhost and internal address literals (a self-hosted data plane in the same network). */
  allowPrivateNetworks?: boolean;
}

/** Where settings come from, by an environment's client-side key (X-Environment-Key). */
export interface ConfigSource {
  /** Null when the integration is not enabled in that environment (or soft-deleted). */
  get(environmentKey: string): RudderStackSettings | null | Promise<RudderStackSettings | null>;
}

/** One item of the `flags` array of GET/POST /api/v1/identities/. */
export interface ApiFlag {
  /** The flag's feature. */
  feature: {
    /** The feature's name: the trait's key. */
    name: string;
  };
  /** Whether the flag is on for this identity. */
  enabled: boolean;
  /** The flag's value for this identity (null when it has none). */
  feature_state_value: unknown;
}

/** A flagsmith-nodejs `Flag`. */
export interface SdkFlag {
  /** The feature's name: the trait's key. */
  featureName: string;
  /** Whether the flag is on for this identity. */
  enabled: boolean;
  /** The flag's value for this identity. */
  value: unknown;
}

/** A flagsmith-nodejs `Flags` object. */
export interface SdkFlags {
  /** Every flag of the identity. */
  allFlags(): SdkFlag[];
}

/** An identity's flags in any shape the hook takes: the API's `flags` array, or flagsmith-nodejs `Flag`s or `Flags`. */
export type FlagsInput = ApiFlag[] | SdkFlag[] | SdkFlags;

/** An identity's traits: the API's `traits` array, or an object of values by trait key. */
export type IdentityTraitsInput =
  | Array<{
      /** The trait's key. */
      trait_key: string;
      /** The trait's value. */
      trait_value: unknown;
    }>
  | Record<string, unknown>;

/** What `postIdentityFetch` is given: the environment, the identity and the flags computed for it. */
export interface IdentityFetchContext {
  /** The environment's client-side key (the request's X-Environment-Key): selects the settings. */
  environmentKey: string;
  /** The identity whose flags were fetched. */
  identity: {
    /** The identity's identifier: the identify's `userId`. */
    identifier: string;
    /** Accepted and not sent, as in Flagsmith. */
    traits?: IdentityTraitsInput;
  };
  /** The flags computed for the identity. */
  flags: FlagsInput;
}

/**
 * How a flag becomes a trait.
 * - `documented`: the value when enabled and not null/undefined, else the enabled boolean.
 * - `flagsmith-python`: the value when enabled and truthy in Python's sense, else the enabled
 *   boolean (what Flagsmith's Python API sends today).
 */
export type ValueMode = 'documented' | 'flagsmith-python';

/** How flags become traits, for `toTraits` and `buildIdentifyMessage`. */
export interface MappingOptions {
  /** The value rule (default `'documented'`). */
  valueMode?: ValueMode;
}

/** An identify's traits: one per flag, by feature name. */
export type Traits = Record<string, unknown>;

/** A RudderStack identify event, as built by the hook (`sentAt` is added at send time). */
export interface IdentifyMessage {
  /** Always `'identify'`. */
  type: 'identify';
  /** The identity's identifier. */
  userId: string;
  /** The flags as traits. */
  traits: Traits;
  /** RudderStack's context of the event. */
  context: {
    /** The same traits again: RudderStack documents both places, and its Node SDK writes both. */
    traits: Traits;
    /** This package, as the event's sender. */
    library: {
      /** `'flagsmith-rudderstack'`. */
      name: string;
      /** This package's version. */
      version: string;
    };
  };
  /** Always `'server'`. */
  channel: 'server';
  /** Unique per event; a retried event keeps it, so the data plane can drop duplicates. */
  messageId: string;
  /** When the hook ran, as an ISO 8601 string. */
  originalTimestamp: string;
}

/** Options of `buildIdentifyMessage`. */
export interface BuildIdentifyOptions extends MappingOptions {
  /** When the hook ran; defaults to now. */
  timestamp?: Date;
  /** Defaults to a random UUID. */
  messageId?: string;
}

/** What a log line is about, given as fields when `structuredLogs` is on. Never a write key or an identifier. */
export interface LogFields {
  /** The environment's client-side key. */
  environmentKey?: string;
  /** The environments of a request's events, when there are several (at most five named). */
  environmentKeys?: string[];
  /** What happened, as a short code: a drop reason (`queue_full`, `rejected`, ...), `paused`, `config_error`, ... */
  reason?: string;
  /** The data plane's HTTP status, when it answered. */
  status?: number;
  /** The data plane's host (and port), from the URL as shown: credentials and keys redacted. */
  dataPlaneHost?: string;
}

/**
 * Where the integration says what it did and what went wrong: `console`, or a pino or winston
 * logger. Each method must exist; one that throws is ignored. Messages never hold a write key.
 */
export interface Logger {
  /** Detail, for debugging. */
  debug(...args: unknown[]): void;
  /** Notices that need no action. */
  info(...args: unknown[]): void;
  /** Events dropped or delayed, settings that cannot be used: worth a look. */
  warn(...args: unknown[]): void;
  /** Unexpected failures, and a host callback (`onBatchResult`) that threw. */
  error(...args: unknown[]): void;
}

/** The part of a fetch Response that delivery reads. */
export interface FetchResponseLike {
  /** The HTTP status. */
  status: number;
  /** The response headers; `Retry-After` is read. */
  headers: {
    /** The header's value, or null when absent. */
    get(name: string): string | null;
  };
  /**
   * Never read: only the status and `Retry-After` count. Dropped once they are known: cancelled
   * when it is a web stream (fetch, undici), destroyed when it is a Node stream (node-fetch).
   */
  body?: {
    /** A web stream's (fetch, undici): drops it unread. */
    cancel?(reason?: unknown): Promise<void> | void;
    /** A Node stream's (node-fetch): drops it unread. */
    destroy?(error?: Error): unknown;
  } | null;
}

/** What a host's `fetch` is called with: a subset of fetch's `RequestInit`. */
export interface FetchRequestInit {
  /** Always `'POST'`. */
  method: 'POST';
  /** Content-Type, Authorization (the write key: keep it out of logs), Content-Encoding when gzipped. */
  headers: Record<string, string>;
  /** The batch, gzipped or JSON text. */
  body: Buffer | string;
  /** Aborted when the attempt's `requestTimeoutMs` runs out. */
  signal: AbortSignal;
  /** Always `'manual'`: a redirect is an answer, never followed (it could lead to an internal address). */
  redirect: 'manual';
}

/** A `fetch` the host provides in place of the default transport (see the `fetch` option). */
export type FetchLike = (url: string, init: FetchRequestInit) => Promise<FetchResponseLike>;

/** What became of the events of one request: given to `onBatchResult` once they are delivered or dropped. */
export interface BatchResult {
  /** Environments whose events go to this destination. */
  environmentKeys: string[];
  /** The data plane URL as messages show it (never with a write key in it). */
  dataPlaneUrl: string;
  /** Events in the request. */
  events: number;
  /** `'delivered'`, `'parked'` (durable outbox: back in the outbox, to be tried again), or the reason the events were dropped. */
  result: 'delivered' | 'parked' | DropReason;
  /** HTTP attempts made for these events (0 when they were dropped before one). */
  attempts: number;
  /** The last attempt's HTTP status, when it had an answer. */
  status?: number;
  /** The last attempt's network error, when it had no answer; redacted like every message (no write key, no URL credentials). */
  error?: string;
  /** Whether that error was the attempt's `requestTimeoutMs` running out. */
  timedOut?: boolean;
  /**
   * The last attempt's own time in milliseconds: from handing its body to the network to its
   * status (or its failure), without compression or retry waits. Absent when no attempt was made.
   */
  durationMs?: number;
  /** Bytes of the last attempt's body on the wire (after gzip). Absent when no attempt was made. */
  bytes?: number;
}

/** Options of `new RudderStackIntegration(options)`; only `config` is required. */
export interface RudderStackIntegrationOptions {
  /** Each environment's settings: a `ConfigSource`, or a table of settings by environment key. */
  config: ConfigSource | Record<string, RudderStackSettings>;
  /** Events per batch before sending (default 100). */
  flushAt?: number;
  /** Longest an accepted event waits before its batch is sent (default 1000). */
  flushIntervalMs?: number;
  /** Serialized, uncompressed batch body limit (default 500 000). */
  maxBatchBytes?: number;
  /** One serialized event (default 32 768). */
  maxEventBytes?: number;
  /** Events held in memory across all destinations (default 10 000). */
  maxQueueSize?: number;
  /** Retries of one batch after its first attempt (default 8). */
  maxRetries?: number;
  /** One HTTP attempt (default 10 000). */
  requestTimeoutMs?: number;
  /** Content-Encoding: gzip (default true). */
  gzip?: boolean;
  /** How long an environment's settings are cached (default 60 000). */
  configTtlMs?: number;
  /** The value rule (default `'documented'`). */
  valueMode?: ValueMode;
  /** Admit data planes on internal addresses (default false). */
  allowPrivateNetworks?: boolean;
  /** Replaces the default transport (Node's http/https client over keep-alive agents); the network guard is then the host's to provide. */
  fetch?: FetchLike;
  /**
   * Call the logger pino's way, `logger.warn({ environmentKey, reason, status, dataPlaneHost }, message)`,
   * so that a structured logger (pino, bunyan) records those as fields (default false: the message alone).
   */
  structuredLogs?: boolean;
  /** Where warnings and errors go (default: the console, warnings and errors only). */
  logger?: Logger;
  /**
   * Told what became of each request's events, once they are delivered or dropped: for hosts and
   * tools that act on outcomes (metrics, alerts) rather than read logs. Called synchronously;
   * what it throws is logged and ignored.
   */
  onBatchResult?: (result: BatchResult) => void;
  /** Longest one batch may spend retrying, from its first attempt (default 300 000). */
  maxRetryDurationMs?: number;
  /** Backoff before the first retry is up to this; it doubles per retry (default 500). */
  retryBaseDelayMs?: number;
  /** Backoff ceiling (default 30 000). */
  retryMaxDelayMs?: number;
  /** Longest `Retry-After` honoured; longer asks are cut to this (default 60 000). */
  maxRetryAfterMs?: number;
  /** Requests one destination may have in flight at once (default 2). */
  maxConcurrentRequests?: number;
  /** First cool-down after a 401/404; it doubles per repeat (default 60 000). */
  pauseMs?: number;
  /** Longest cool-down (default 900 000). */
  maxPauseMs?: number;
  /**
   * Skip an identify when the same environment and identifier were delivered exactly the same
   * traits within `ttlMs` (counted in `stats().unchanged`). Off by default: every call is sent.
   */
  sendOnlyOnChange?: SendOnlyOnChangeOptions;
  /**
   * Keep every event in a PostgreSQL outbox until it is delivered, shared by every replica that
   * uses the same table: nothing is lost to a crash, a restart or a long outage (see the README's
   * "Durable delivery"). The hook does not change: events are written off the host's request, in
   * group commits.
   */
  durable?: PostgresOutbox;
}

/** The `sendOnlyOnChange` option: `{ ttlMs, maxEntries }` in process, or `{ ttlMs, store }` shared. */
export interface SendOnlyOnChangeOptions {
  /**
   * How long a delivered state is remembered, from its delivery: after it, the same traits are
   * sent again (a refresh for destinations that age data out). Whole milliseconds, at least 1.
   */
  ttlMs: number;
  /**
   * Identities the in-process memory holds (least recently seen forgotten first; a forgotten
   * identity is simply sent again). Required without `store`; not used with it.
   */
  maxEntries?: number;
  /**
   * A memory shared by all API replicas, e.g. `new RedisChangeStore(redis)`, so that the fleet
   * sends each change once. Default: in-process, per replica.
   */
  store?: SharedChangeStore;
}

/** Whether an identify carries a state that must be sent. */
export type ChangeVerdict = 'changed' | 'unchanged';

/** One identify's claim on its identity's slot in a change store. */
export interface ChangeClaim {
  /** The environment and identifier, unambiguously joined. */
  key: string;
  /** A 64-bit hash of the identify's traits, as 16 hex digits; key order does not change it. */
  hash: string;
  /** Unique to this identify, so that only it can confirm or release its claim. */
  token: string;
}

/**
 * A memory of what was sent, shared by API replicas. Each method is one atomic step; a
 * rejection, or no answer within 250 ms, counts as "changed" (the identify is sent) and is logged
 * at most once a minute.
 */
export interface SharedChangeStore {
  /**
   * 'unchanged' when the slot holds this hash as delivered, or a live claim on this hash (another
   * call is sending the same state); otherwise claims the slot for this identify: 'changed'.
   */
  claim(claim: ChangeClaim): Promise<ChangeVerdict>;
  /** Delivered: the slot holds the hash as sent for `ttlMs`, unless another claim replaced ours. */
  confirm(claim: ChangeClaim, ttlMs: number): Promise<void>;
  /** Not delivered: deletes the claim if it is still ours, so that the next call sends. */
  release(claim: ChangeClaim): Promise<void>;
}

/** Why events were dropped: the keys of `stats().dropped` and a `BatchResult`'s `result`. */
export type DropReason =
  | 'queue_full'
  | 'invalid_settings'
  | 'config_error'
  | 'invalid_input'
  | 'no_user_id'
  | 'event_too_large'
  | 'rejected'
  | 'retries_exhausted'
  | 'closed'
  | 'close_timeout'
  /** Durable outbox: older than its `maxAgeMs`, never delivered. */
  | 'expired'
  /** Durable outbox: among the oldest when it held more than `maxRows`. */
  | 'outbox_full';

/** What `stats()` returns: counters since construction, and what is held now. */
export interface IntegrationStats {
  /** Hook calls. */
  received: number;
  /** Hook calls for environments where the integration is not enabled. */
  skipped: number;
  /** Events accepted into a destination's queue. */
  enqueued: number;
  /** Events the data plane answered 2xx for. */
  delivered: number;
  /** HTTP attempts after the first attempt of a batch. */
  retried: number;
  /** Events given up, by reason. */
  dropped: Record<DropReason, number>;
  /** Failed settings lookups. */
  configErrors: number;
  /** Extra events made by splitting identifies over `maxEventBytes` (one hook call, several events). */
  splitEvents: number;
  /** Traits left out because one alone would not fit in `maxEventBytes` (`trait_too_large`). */
  traitsDropped: number;
  /** Events held and not in a request: awaiting settings or batching. */
  queued: number;
  /** Events in a request or waiting to retry one. */
  inFlight: number;
  /** Identifies not sent because `sendOnlyOnChange` found their traits already sent (or being sent). */
  unchanged: number;
  /** Durable outbox: events this process wrote to it (they are then in the outbox, not in memory). */
  persisted: number;
  /** Durable outbox: rows this process took from it, to send them or to drop them (expired, outbox_full, integration removed). */
  claimed: number;
  /** Durable outbox: rows this process handed back to it, for any replica to send later (a retryable failure, a pause, close). */
  parked: number;
}

/**
 * What a destination is doing, as `destinations()` tells it, the first that holds:
 * - `paused`: cooling down after the data plane refused the destination itself (401 write key,
 *   404 source, a host name resolving to an internal address, or every request refused); its
 *   events are dropped without a request until `pausedUntil` or `invalidate()`.
 * - `retrying`: a batch is waiting to be sent again, or being sent again, after an answer that may
 *   get better (5xx, 408, 429, a timeout, a network error); with the durable outbox, its rows
 *   wait in the outbox for their next try.
 * - `sending`: events are queued for a batch or in a request, and none is retrying.
 * - `refused`: nothing is queued or in flight, and the last batch to end was given up on (refused
 *   for good, retries exhausted, or dropped by a pause) with nothing delivered since:
 *   `lastFailure` says why. The next delivery makes it `idle`.
 * - `idle`: nothing queued or in flight, and the last batch was delivered (or none was sent yet).
 */
export type DestinationState = 'idle' | 'sending' | 'retrying' | 'paused' | 'refused';

/** One destination (a data plane URL and write key) as `integration.destinations()` shows it: never the write key. */
export interface DestinationStatus {
  /** The data plane's host (and port), as messages show it: credentials and keys redacted. */
  dataPlaneHost: string;
  /** The environments whose settings send here, in the order first seen. */
  environmentKeys: string[];
  /** What it is doing now. */
  state: DestinationState;
  /** Events waiting for a batch. */
  queued: number;
  /** Events in a request or waiting to retry one. */
  inFlight: number;
  /** Events delivered here since the integration started. */
  delivered: number;
  /** Events routed here and dropped, for any reason, since the integration started. */
  dropped: number;
  /** When the data plane last answered 2xx (ISO 8601). */
  lastDeliveredAt?: string;
  /** The last attempt that failed: when (ISO 8601), why (see README "Monitoring"), and the HTTP status when there was one. */
  lastFailure?: {
    /** When it failed (ISO 8601). */
    at: string;
    /** A short code: `unauthorized`, `not_found`, `server_error`, `rate_limited`, `timeout`, `network_error`, ... */
    reason: string;
    /** The HTTP status, when the data plane answered. */
    status?: number;
  };
  /** While `paused`: when the cool-down ends (ISO 8601). */
  pausedUntil?: string;
}
