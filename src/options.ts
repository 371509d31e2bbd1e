import type { DeliveryOptions } from './delivery/delivery';
import type { ResolvedChangeOptions } from './change-detection/change-detector';
import type { RudderStackIntegrationOptions, SendOnlyOnChangeOptions, ValueMode } from './types';

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

export type ResolvedOptions = DeliveryOptions & {
  [K in keyof typeof INTERNAL]: number;
} & {
  config: RudderStackIntegrationOptions['config'];
  fetch?: RudderStackIntegrationOptions['fetch'];
  logger?: RudderStackIntegrationOptions['logger'];
  requestTimeoutMs: number;
  configTtlMs: number;
  gzip: boolean;
  valueMode: ValueMode;
  allowPrivateNetworks: boolean;
  /** Absent when off. */
  sendOnlyOnChange?: ResolvedChangeOptions;
};

/** Fills in defaults; throws a TypeError naming every option that is wrong and what it takes. */
export function resolveOptions(options: RudderStackIntegrationOptions): ResolvedOptions {
  const problems: string[] = [];
  const resolved = { ...DEFAULTS, ...INTERNAL, config: options.config, fetch: options.fetch, logger: options.logger } as ResolvedOptions;
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
  if (options.config === null || typeof options.config !== 'object') {
    problems.push('config must be a ConfigSource (an object with get(environmentKey)) or an object of settings by environment key');
  }
  if (options.sendOnlyOnChange !== undefined) resolved.sendOnlyOnChange = resolveSendOnlyOnChange(options.sendOnlyOnChange, problems);
  if (problems.length > 0) throw new TypeError(`flagsmith-rudderstack: invalid options: ${problems.join('; ')}`);
  return resolved;
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
