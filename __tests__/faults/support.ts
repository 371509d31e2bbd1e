/**
 * Shared by every file of the fault suite: integrations whose every log call is captured, and a
 * check after each test that no write key (nor its Basic form) appeared in any log line, error,
 * `stats()` or thrown value, nor on the console.
 */
import { inspect } from 'node:util';
import { RudderStackIntegration } from '../../src/integration';
import type { FailureSpec, LocalDataPlane, ReceivedEvent } from '../../src/testing';
import type { IntegrationStats, RudderStackIntegrationOptions } from '../../src/types';
import { captureLogger, type CapturedLogger } from '../../src/testing/capture-logger';
import { testIntegration } from '../../src/testing/test-integration';
import { closeHarnesses, onCleanup, startDataPlane } from '../helpers/harness';

/** The write key every fault test's data plane expects. */
export const WRITE_KEY = 'wk_FAULT_s3cr3t_5f1d0c9a7b3e';
/** A second destination's key. */
export const OTHER_KEY = 'wk_OTHER_s3cr3t_2e8b4d6f1a9c';
/** A key the data planes do not know (a misconfigured environment). */
export const WRONG_KEY = 'wk_WRONG_s3cr3t_77aa01bc44de';

export const SECRETS = [WRITE_KEY, OTHER_KEY, WRONG_KEY].flatMap((key) => [
  key,
  Buffer.from(`${key}:`).toString('base64'),
  // Without padding, in case a message cuts it.
  Buffer.from(`${key}:`).toString('base64').replace(/=+$/, ''),
]);

export type WatchedLogger = CapturedLogger;

const watched: Array<{ what: string; text: () => string }> = [];
/** Every integration a test made: its accounting is checked after the test. */
const made: RudderStackIntegration[] = [];

/** A capture logger whose every line is checked for keys after the test. */
export function watchedLogger(): WatchedLogger {
  const logger = captureLogger();
  watched.push({ what: 'log', text: () => logger.lines.map((line) => `${line.level}: ${line.text}`).join('\n') });
  return logger;
}

/** Something else that must never hold a key (an error, a thrown value), checked after the test. */
export function watchValue(what: string, value: unknown): void {
  const text = value instanceof Error ? `${value.name}: ${value.message}\n${value.stack ?? ''}\n${inspect(value)}` : inspect(value, { depth: 10 });
  watched.push({ what, text: () => text });
}

export interface FaultIntegration {
  integration: RudderStackIntegration;
  logger: WatchedLogger;
}

/**
 * An integration with small delays, a watched logger, its stats checked for keys after the test,
 * and closed after the test. `allowPrivateNetworks` is on (the data planes are on 127.0.0.1)
 * unless the options say otherwise.
 */
export function faultIntegration(options: RudderStackIntegrationOptions): FaultIntegration {
  const logger = watchedLogger();
  const integration = testIntegration({
    retryMaxDelayMs: 20,
    maxRetryAfterMs: 2_000,
    requestTimeoutMs: 2_000,
    pauseMs: 60_000,
    logger,
    ...options,
  });
  watched.push({ what: 'stats()', text: () => JSON.stringify(integration.stats()) });
  made.push(integration);
  onCleanup(() => integration.close({ timeoutMs: 1_000 }));
  return { integration, logger };
}

/**
 * The suite's usual setup: a data plane that answers as `fail` scripts (then normally), and an
 * integration for "env-a" sending to it.
 */
export async function faultSetup(
  options: Omit<RudderStackIntegrationOptions, 'config'> & { fail?: FailureSpec | FailureSpec[] } = {},
): Promise<FaultIntegration & { dataPlane: LocalDataPlane }> {
  const { fail, ...integrationOptions } = options;
  const dataPlane = await faultDataPlane();
  if (fail) dataPlane.fail(fail);
  return { dataPlane, ...faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, ...integrationOptions }) };
}

/** A local data plane on 127.0.0.1 that knows WRITE_KEY and OTHER_KEY (answers 401 to others). */
export function faultDataPlane(options: Parameters<typeof startDataPlane>[0] = {}): Promise<LocalDataPlane> {
  return startDataPlane({ writeKeys: [WRITE_KEY, OTHER_KEY], ...options });
}

/** Settings of one environment pointing at a data plane. */
export function settingsFor(dataPlane: { url: string }, writeKey: string = WRITE_KEY): { api_key: string; base_url: string } {
  return { api_key: writeKey, base_url: dataPlane.url };
}

/**
 * Every hook call is accounted for exactly once (a split event adds events of its own; rows taken
 * from a durable outbox are accounted for like hook calls): this equals `stats.received`.
 */
export function accountedFor(stats: IntegrationStats): number {
  // `unchanged` (sendOnlyOnChange) and the outbox's counts are 0 unless those options are on.
  return (
    stats.skipped +
    stats.unchanged +
    totalDropped(stats) +
    stats.delivered +
    stats.persisted +
    stats.parked +
    stats.queued +
    stats.inFlight -
    stats.splitEvents -
    stats.claimed
  );
}

export function totalDropped(stats: IntegrationStats): number {
  return Object.values(stats.dropped).reduce((sum, count) => sum + count, 0);
}

/** How many times each messageId was accepted by the data plane. */
export function copiesByMessageId(events: readonly ReceivedEvent[]): Map<string, number> {
  const copies = new Map<string, number>();
  for (const event of events) copies.set(String(event.messageId), (copies.get(String(event.messageId)) ?? 0) + 1);
  return copies;
}

/** The messageIds of the events in a request body (parsed: every body must be JSON). */
export function messageIdsOf(body: Buffer): string[] {
  const parsed = JSON.parse(body.toString('utf8')) as { batch: Array<{ messageId: string }> };
  return parsed.batch.map((event) => event.messageId);
}

export function sentAtOf(body: Buffer): number {
  return Date.parse((JSON.parse(body.toString('utf8')) as { sentAt: string }).sentAt);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Checked after every test of a file that calls this: the write key never shows, and every
 * integration the test made accounts for each hook call exactly once.
 */
export function checkSecretsAfterEachTest(): void {
  const consoleCalls: string[] = [];
  let spies: jest.SpyInstance[] = [];
  beforeEach(() => {
    spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        consoleCalls.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg))).join(' '));
      }),
    );
    const emitWarning = process.emitWarning.bind(process);
    spies.push(
      jest.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error, ...rest: unknown[]) => {
        consoleCalls.push(warning instanceof Error ? `${warning.message}\n${warning.stack ?? ''}` : String(warning));
        return (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
      }) as typeof process.emitWarning),
    );
  });
  afterEach(async () => {
    // Close first: closing logs too.
    await closeHarnesses();
    for (const spy of spies) spy.mockRestore();
    for (const stats of made.splice(0).map((integration) => integration.stats())) {
      if (accountedFor(stats) !== stats.received) throw new Error(`the accounting identity does not hold: ${JSON.stringify(stats)}`);
    }
    const everything = [...watched.splice(0).map((item) => `${item.what}: ${item.text()}`), ...consoleCalls.splice(0).map((text) => `console: ${text}`)];
    for (const text of everything) {
      for (const secret of SECRETS) {
        if (text.includes(secret)) throw new Error(`a write key leaked (${JSON.stringify(secret)}) into ${text.slice(0, 2_000)}`);
      }
    }
  });
}
