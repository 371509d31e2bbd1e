import type { DeliveryOptions } from './delivery/delivery';
import type { ResolvedChangeOptions } from './change-detection/change-detector';
import { consoleLogger, guardLogger, type Log } from './log';
import { PostgresOutbox } from './outbox/postgres-outbox';
import { toConfigSource } from './settings/config-source';
import type { ConfigSource, FetchLike, Logger, RudderStackIntegrationOptions, SendOnlyOnChangeOptions, ValueMode } from './types';

const DEFAULTS = {
  flushAt: 100,
  flushIntervalMs: 1_000,
  maxBatchBytes: 500_000,
  maxEventBytes: 32_768,
  maxQueueSize: 10_000,
  maxRetries: 8,
  maxRetryDurationMs: 300_000,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  maxConcurrentRequests: 2,
  pauseMs: 60_000,
  maxPauseMs: 900_000,
  requestTimeoutMs: 10_000,
  configTtlMs: 60_000,
  gzip: true,
  valueMode: 'documented' as ValueMode,
  allowPrivateNetworks: false,
} as const;

/** Numbers the package uses inside, not options: named here so that each is set in one place. */
const INTERNAL = {
  /** Each kind of warning is said at most once per interval (per destination or environment). */
  logIntervalMs: 60_000,
  /** A settings lookup still pending after this long counts as failed. */
  settingsLookupTimeoutMs: 5_000,
  /** How long past expiry the last valid settings are still served while refreshes fail. */
  staleSettingsGraceMs: 300_000,
  /** Longest a shared change store may take to answer before the identify is sent unchecked. */
  changeStoreTimeoutMs: 250,
  /** `close()` without a `timeoutMs`. */
  closeTimeoutMs: 10_000,
} as const;

/** The data plane refuses bodies over 4000 KiB once decompressed. */
const DATA_PLANE_MAX_BODY_BYTES = 4_096_000;

/** The options whose value is a number. */
type NumericOption = { [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] extends number ? K : never }[keyof typeof DEFAULTS];

/** Numeric options and the least each may be (maxRetries may be 0: no retries). */
const MINIMUM: Record<NumericOption, number> = {
  flushAt: 1,
  flushIntervalMs: 0,
  maxBatchBytes: 1_024,
  maxEventBytes: 256,
  maxQueueSize: 1,
  maxRetries: 0,
  maxRetryDurationMs: 0,
  retryBaseDelayMs: 0,
  retryMaxDelayMs: 0,
  maxRetryAfterMs: 0,
  maxConcurrentRequests: 1,
  pauseMs: 0,
  maxPauseMs: 0,
  requestTimeoutMs: 1,
  configTtlMs: 0,
};

/** Every option name, so that a misspelt one is refused; the compiler keeps it in step with the type. */
const KNOWN_OPTIONS: Record<keyof RudderStackIntegrationOptions, true> = {
  config: true,
  flushAt: true,
  flushIntervalMs: true,
  maxBatchBytes: true,
  maxEventBytes: true,
  maxQueueSize: true,
  maxRetries: true,
  requestTimeoutMs: true,
  gzip: true,
  configTtlMs: true,
  valueMode: true,
  allowPrivateNetworks: true,
  fetch: true,
  logger: true,
  structuredLogs: true,
  onBatchResult: true,
  maxRetryDurationMs: true,
  retryBaseDelayMs: true,
  retryMaxDelayMs: true,
  maxRetryAfterMs: true,
  maxConcurrentRequests: true,
  pauseMs: true,
  maxPauseMs: true,
  sendOnlyOnChange: true,
  durable: true,
};

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const satisfies ReadonlyArray<keyof Logger>;

/** Options checked and filled in: what the integration and its parts read, never the caller's object. */
export type ResolvedOptions = DeliveryOptions & { [K in keyof typeof INTERNAL]: number } & {
  config: ConfigSource;
  /** The host's logger (or the console default), guarded so that one that throws breaks nothing. */
  logger: Log;
  /** Absent: the default transport. */
  fetch?: FetchLike;
  requestTimeoutMs: number;
  configTtlMs: number;
  gzip: boolean;
  valueMode: ValueMode;
  allowPrivateNetworks: boolean;
  /** Absent when off. */
  sendOnlyOnChange?: ResolvedChangeOptions;
  /** Absent when off. */
  durable?: PostgresOutbox;
};

/** Fills in defaults; throws a TypeError naming every option that is wrong and what it takes. */
export function resolveOptions(options: RudderStackIntegrationOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOptions([`options must be an object with at least config (got ${describeValue(options)})`]);
  }
  const problems = unknownOptions(options);
  const resolved = { ...DEFAULTS, ...INTERNAL } as ResolvedOptions;
  for (const name of Object.keys(MINIMUM) as NumericOption[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < MINIMUM[name]) {
      problems.push(`${name} must be a whole number of at least ${MINIMUM[name]} (got ${String(value)})`);
    } else {
      resolved[name] = value;
    }
  }
  if (options.valueMode !== undefined) {
    if (options.valueMode === 'documented' || options.valueMode === 'flagsmith-python') resolved.valueMode = options.valueMode;
    else problems.push(`valueMode must be 'documented' or 'flagsmith-python' (got ${String(options.valueMode)})`);
  }
  for (const name of ['gzip', 'allowPrivateNetworks'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value === 'boolean') resolved[name] = value;
    else problems.push(`${name} must be true or false (got ${String(value)})`);
  }
  if (resolved.maxEventBytes > resolved.maxBatchBytes) {
    problems.push(`maxEventBytes (${resolved.maxEventBytes}) must not exceed maxBatchBytes (${resolved.maxBatchBytes})`);
  }
  if (resolved.maxBatchBytes > DATA_PLANE_MAX_BODY_BYTES) {
    problems.push(`maxBatchBytes must be at most ${DATA_PLANE_MAX_BODY_BYTES}: the data plane refuses larger bodies`);
  }
  if (options.onBatchResult !== undefined) {
    if (typeof options.onBatchResult === 'function') resolved.onBatchResult = options.onBatchResult;
    else problems.push('onBatchResult must be a function');
  }
  if (options.structuredLogs !== undefined && typeof options.structuredLogs !== 'boolean') {
    problems.push(`structuredLogs must be true or false (got ${describeValue(options.structuredLogs)})`);
  }
  const loggerProblem = options.logger === undefined ? undefined : loggerShapeProblem(options.logger);
  if (loggerProblem) problems.push(loggerProblem);
  resolved.logger = guardLogger(options.logger === undefined || loggerProblem ? consoleLogger : options.logger, options.structuredLogs === true);
  if (options.fetch !== undefined) {
    if (typeof options.fetch === 'function') resolved.fetch = options.fetch;
    else problems.push(`fetch must be a function (url, init) => Promise<Response> such as globalThis.fetch (got ${describeValue(options.fetch)})`);
  }
  if (options.config === null || typeof options.config !== 'object') {
    problems.push('config must be a ConfigSource (an object with get(environmentKey)) or an object of settings by environment key');
  } else {
    resolved.config = toConfigSource(options.config);
  }
  if (options.sendOnlyOnChange !== undefined) resolved.sendOnlyOnChange = resolveSendOnlyOnChange(options.sendOnlyOnChange, problems);
  if (options.durable !== undefined) {
    if (options.durable instanceof PostgresOutbox) resolved.durable = options.durable;
    else problems.push(`durable must be a PostgresOutbox: new PostgresOutbox(pool), then await outbox.migrate() (got ${describeValue(options.durable)})`);
  }
  if (problems.length > 0) throw invalidOptions(problems);
  return resolved;
}

function invalidOptions(problems: string[]): TypeError {
  return new TypeError(`flagsmith-rudderstack: invalid options: ${problems.join('; ')}`);
}

/** One problem per name the options type does not have, with the closest known name when one is near. */
function unknownOptions(options: object): string[] {
  const known = Object.keys(KNOWN_OPTIONS);
  return Object.keys(options)
    .filter((name) => !Object.hasOwn(KNOWN_OPTIONS, name))
    .map((name) => {
      const near = closestName(name, known);
      return near ? `unknown option ${name} (did you mean ${near}?)` : `unknown option ${name}`;
    });
}

/** A logger is called as logger.warn(...) and so on: each level must be a method (pino's live on its prototype). */
function loggerShapeProblem(logger: unknown): string | undefined {
  const shape = 'logger must be an object with debug, info, warn and error methods, such as console or a pino logger';
  if (typeof logger === 'function') return `${shape} (got a function: pass console, not console.log)`;
  if (typeof logger !== 'object' || logger === null) return `${shape} (got ${describeValue(logger)})`;
  const missing = LOG_LEVELS.filter((level) => typeof (logger as Partial<Record<string, unknown>>)[level] !== 'function');
  if (missing.length === 0) return undefined;
  return `${shape} (${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing)`;
}

/**
 * The known name nearest to a misspelt one, ignoring case, if it is within a third of the name's
 * length in edits. Hand-written: a dependency for an error message is not worth the host's install.
 */
function closestName(name: string, known: string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** How a wrong value is named in a message: its kind, never its content (it may hold a secret). */
function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  const kind = typeof value;
  return `${kind === 'object' ? 'an' : 'a'} ${kind}`;
}

/** Checks `sendOnlyOnChange`; adds what is wrong to `problems`. */
function resolveSendOnlyOnChange(value: SendOnlyOnChangeOptions, problems: string[]): ResolvedChangeOptions | undefined {
  if (typeof value !== 'object' || value === null) {
    problems.push('sendOnlyOnChange must be an object { ttlMs, maxEntries } or { ttlMs, store }');
    return undefined;
  }
  const { ttlMs, maxEntries, store } = value;
  const before = problems.length;
  if (!isWholeNumber(ttlMs, 1)) problems.push(`sendOnlyOnChange.ttlMs must be a whole number of at least 1 (got ${String(ttlMs)})`);
  if (store !== undefined) {
    const methods = ['claim', 'confirm', 'release'] as const;
    if (typeof store !== 'object' || store === null || methods.some((name) => typeof store[name] !== 'function')) {
      problems.push('sendOnlyOnChange.store must be a shared change store such as new RedisChangeStore(redisClient)');
    }
  } else if (maxEntries === undefined) {
    problems.push('sendOnlyOnChange.maxEntries is required without a store: it bounds the in-process memory');
  }
  if (maxEntries !== undefined && !isWholeNumber(maxEntries, 1)) {
    problems.push(`sendOnlyOnChange.maxEntries must be a whole number of at least 1 (got ${String(maxEntries)})`);
  }
  if (problems.length > before) return undefined;
  return store ? { ttlMs, store } : { ttlMs, maxEntries: maxEntries! };
}

function isWholeNumber(value: unknown, minimum: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum;
}
