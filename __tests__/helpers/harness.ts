import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RudderStackIntegration } from '../../src/integration';
import { createTestIntegration, startLocalDataPlane, testIntegration, type LocalDataPlane, type TestIntegrationOptions } from '../../src/testing';
import { captureLogger, type CapturedLogger } from '../../src/testing/capture-logger';
import type { ApiFlag, IdentityFetchContext, RudderStackIntegrationOptions } from '../../src/types';

export { captureLogger, type CapturedLogger };

export function apiFlags(values: Record<string, unknown>): ApiFlag[] {
  return Object.entries(values).map(([name, value], index) => ({
    feature: { name },
    enabled: value !== false,
    feature_state_value: value === false ? null : value,
    id: index,
  }));
}

export function identityContext(environmentKey: string, identifier: string, flags: Record<string, unknown> = { checkout_v2: 'blue' }): IdentityFetchContext {
  return { environmentKey, identity: { identifier }, flags: apiFlags(flags) };
}

export interface Harness {
  dataPlane: LocalDataPlane;
  integration: RudderStackIntegration;
  logger: CapturedLogger;
  writeKey: string;
}

const opened: Array<() => Promise<void>> = [];

/** Registers something for `closeHarnesses` to close, so a failed assertion leaves nothing open. */
export function onCleanup(close: () => Promise<void>): void {
  opened.push(close);
}

/** A data plane that `closeHarnesses` closes. */
export async function startDataPlane(options: Parameters<typeof startLocalDataPlane>[0] = {}): Promise<LocalDataPlane> {
  const dataPlane = await startLocalDataPlane(options);
  onCleanup(() => dataPlane.close());
  return dataPlane;
}

/** A plain HTTP server on 127.0.0.1 that `closeHarnesses` closes (open connections too); resolves with its URL. */
export async function startLoopbackServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The public testIntegration, with a capture logger, closed by `closeHarnesses`. */
export function createIntegration(options: RudderStackIntegrationOptions): RudderStackIntegration {
  const integration = testIntegration({ logger: captureLogger(), ...options });
  onCleanup(() => integration.close({ timeoutMs: 1_000 }));
  return integration;
}

/** A data plane on 127.0.0.1 and an integration sending to it for environment "env-a" (the public createTestIntegration). */
export async function startHarness(options: TestIntegrationOptions = {}): Promise<Harness> {
  const writeKey = 'wk_harness_secret_0123456789';
  const logger = captureLogger();
  const test = await createTestIntegration({ environmentKey: 'env-a', writeKey, flushIntervalMs: 20, retryMaxDelayMs: 20, logger, ...options });
  opened.push(() => test.close());
  return { dataPlane: test.dataPlane, integration: test.integration, logger, writeKey };
}

/** Closes whatever the test file's harnesses opened. */
export async function closeHarnesses(): Promise<void> {
  await Promise.all(opened.splice(0).map((close) => close()));
}

/** Polls until the condition holds; fails with `what` after `timeoutMs`. No timing is asserted. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
