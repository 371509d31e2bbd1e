import { RudderStackIntegration } from '../integration';
import type { RudderStackIntegrationOptions } from '../types';
import { startLocalDataPlane, type LocalDataPlane, type LocalDataPlaneOptions, type ReceivedEvent } from './local-data-plane';

/** Options of `createTestIntegration`: any integration option but `config`, and the test environment's. */
export interface TestIntegrationOptions extends Partial<Omit<RudderStackIntegrationOptions, 'config'>> {
  /** The environment the integration is enabled for (default 'test-environment-key'). */
  environmentKey?: string;
  /** The write key the data plane accepts; other keys get 401 (default 'test-write-key'). */
  writeKey?: string;
  /** Options of the local data plane (its write key is `writeKey`). */
  dataPlane?: Omit<LocalDataPlaneOptions, 'writeKeys'>;
}

/** What `createTestIntegration` resolves with. */
export interface TestIntegration {
  /** The integration, enabled for `environmentKey` and sending to `dataPlane`. */
  integration: RudderStackIntegration;
  /** The local data plane it sends to. */
  dataPlane: LocalDataPlane;
  /** The environment it is enabled for: use it as the hook's `environmentKey`. */
  environmentKey: string;
  /** Flushes, then resolves with every event received once at least `n` arrived (rejects after `timeoutMs`, default 10 000). */
  waitForEvents(n: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  /** Closes the integration, then the data plane. */
  close(): Promise<void>;
}

/**
 * An integration with defaults for tests: batches go out within 10 ms, retries wait
 * milliseconds, and data planes on loopback are allowed. Any option given wins.
 */
export function testIntegration(options: RudderStackIntegrationOptions): RudderStackIntegration {
  return new RudderStackIntegration({ flushIntervalMs: 10, retryBaseDelayMs: 5, retryMaxDelayMs: 50, allowPrivateNetworks: true, ...options });
}

/** `testIntegration` wired to a fresh local data plane, enabled for one environment. */
export async function createTestIntegration(options: TestIntegrationOptions = {}): Promise<TestIntegration> {
  const { environmentKey = 'test-environment-key', writeKey = 'test-write-key', dataPlane: dataPlaneOptions, ...integrationOptions } = options;
  const dataPlane = await startLocalDataPlane({ ...dataPlaneOptions, writeKeys: [writeKey] });
  const integration = testIntegration({ ...integrationOptions, config: { [environmentKey]: { api_key: writeKey, base_url: dataPlane.url } } });
  return {
    integration,
    dataPlane,
    environmentKey,
    async waitForEvents(n, timeoutMs) {
      await integration.flush();
      return dataPlane.waitForEvents(n, timeoutMs);
    },
    async close() {
      await integration.close({ timeoutMs: 1_000 });
      await dataPlane.close();
    },
  };
}
