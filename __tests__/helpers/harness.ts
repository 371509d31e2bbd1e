import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RudderStackIntegration } from '../../src/integration';
import { startLocalDataPlane, type LocalDataPlane } from '../../src/testing';
import type { ApiFlag, IdentityFetchContext, Logger, RudderStackIntegrationOptions } from '../../src/types';

/** Every log call, by level, so tests can assert on what a host would see. */
export interface CapturedLogger extends Logger {
  lines: Array<{ level: keyof Logger; text: string }>;
  text(): string;
}

export function captureLogger(): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const record =
    (level: keyof Logger) =>
    (...args: unknown[]): void => {
      lines.push({ level, text: args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ') });
    };
  return {
    lines,
    text: () => lines.map((line) => line.text).join('\n'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

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

/** An integration that `closeHarnesses` closes. */
export function createIntegration(options: RudderStackIntegrationOptions): RudderStackIntegration {
  const integration = new RudderStackIntegration({ allowPrivateNetworks: true, logger: captureLogger(), ...options });
  onCleanup(() => integration.close({ timeoutMs: 1_000 }));
  return integration;
}

/** A data plane on 127.0.0.1 and an integration sending to it for environment "env-a". */
export async function startHarness(options: Partial<RudderStackIntegrationOptions> = {}): Promise<Harness> {
  const writeKey = 'wk_harness_secret_0123456789';
  const dataPlane = await startLocalDataPlane({ writeKeys: [writeKey] });
  const logger = captureLogger();
  const integration = new RudderStackIntegration({
    config: { 'env-a': { api_key: writeKey, base_url: dataPlane.url } },
    allowPrivateNetworks: true,
    flushIntervalMs: 20,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    logger,
    ...options,
  });
  opened.push(async () => {
    await integration.close({ timeoutMs: 1_000 });
    await dataPlane.close();
  });
  return { dataPlane, integration, logger, writeKey };
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
