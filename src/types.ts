/** Public types of the package: the shapes fixed by the API contract. */

/** Exactly what Flagsmith stores for its RudderStack integration, one row per environment. */
export interface RudderStackSettings {
  /** RudderStack HTTP source write key, 1..100 characters, not blank. */
  api_key: string;
  /** Data plane URL; absent or null means "https://hosted.rudderlabs.com". */
  base_url?: string | null;
}

/** Settings after validation: what delivery uses. */
export interface ValidatedSettings {
  writeKey: string;
  /** No trailing slash, no pasted `/v1/batch` or `/v1/identify`. */
  dataPlaneUrl: string;
}

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
  feature: { name: string };
  enabled: boolean;
  feature_state_value: unknown;
}

/** A flagsmith-nodejs `Flag`. */
export interface SdkFlag {
  featureName: string;
  enabled: boolean;
  value: unknown;
}

/** A flagsmith-nodejs `Flags` object. */
export interface SdkFlags {
  allFlags(): SdkFlag[];
}

export type FlagsInput = ApiFlag[] | SdkFlag[] | SdkFlags;

export type IdentityTraitsInput =
  | Array<{ trait_key: string; trait_value: unknown }>
  | Record<string, unknown>;

export interface IdentityFetchContext {
  environmentKey: string;
  identity: { identifier: string; traits?: IdentityTraitsInput };
  flags: FlagsInput;
}

/**
 * How a flag becomes a trait.
 * - `documented`: the value when enabled and not null/undefined, else the enabled boolean.
 * - `flagsmith-python`: the value when enabled and truthy in Python's sense, else the enabled
 *   boolean (what Flagsmith's Python API sends today).
 */
export type ValueMode = 'documented' | 'flagsmith-python';

export interface MappingOptions {
  valueMode?: ValueMode;
}

export type Traits = Record<string, unknown>;

/** A RudderStack identify event, as built by the hook (`sentAt` is added at send time). */
export interface IdentifyMessage {
  type: 'identify';
  userId: string;
  traits: Traits;
  context: {
    traits: Traits;
    library: { name: string; version: string };
  };
  channel: 'server';
  messageId: string;
  originalTimestamp: string;
}

export interface BuildIdentifyOptions extends MappingOptions {
  /** When the hook ran; defaults to now. */
  timestamp?: Date;
  /** Defaults to a random UUID. */
  messageId?: string;
}

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** The part of a fetch Response that delivery reads. */
export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  /**
   * Never read: only the status and `Retry-After` count. Dropped once they are known: cancelled
   * when it is a web stream (fetch, undici), destroyed when it is a Node stream (node-fetch).
   */
  body?: { cancel?(reason?: unknown): Promise<void> | void; destroy?(error?: Error): unknown } | null;
}

export interface FetchRequestInit {
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer | string;
  signal: AbortSignal;
  redirect: 'manual';
}

export type FetchLike = (url: string, init: FetchRequestInit) => Promise<FetchResponseLike>;

/** What became of the events of one request: given to `onBatchResult` once they are delivered or dropped. */
export interface BatchResult {
  /** Environments whose events go to this destination. */
  environmentKeys: string[];
  /** The data plane URL as messages show it (never with a write key in it). */
  dataPlaneUrl: string;
  events: number;
  /** `'delivered'`, or the reason the events were dropped. */
  result: 'delivered' | DropReason;
  /** HTTP attempts made for these events (0 when they were dropped before one). */
  attempts: number;
  /** The last attempt's HTTP status, when it had an answer. */
  status?: number;
  /** The last attempt's network error, when it had no answer; redacted like every message (no write key, no URL credentials). */
  error?: string;
  /** Whether that error was the attempt's `requestTimeoutMs` running out. */
  timedOut?: boolean;
}

export interface RudderStackIntegrationOptions {
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
  valueMode?: ValueMode;
  /** Admit data planes on internal addresses (default false). */
  allowPrivateNetworks?: boolean;
  /** Replaces the default transport (Node's http/https client over keep-alive agents); the network guard is then the host's to provide. */
  fetch?: FetchLike;
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
}

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
  | 'close_timeout';

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
}
