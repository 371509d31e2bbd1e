/**
 * The write key never appears in any log line, error, exception message, stats() or thrown value.
 * Every file of this suite checks its logs, stats and console after each test (see support.ts);
 * this file drives every path that logs or throws, with the key where a self-hoster might put it.
 */
import { inspect } from 'node:util';
import { RudderStackIntegration } from '../../src/integration';
import { StaticConfigSource } from '../../src/settings/config-source';
import { SettingsError, validateSettings } from '../../src/settings/validate';
import type { BatchResult, FetchLike } from '../../src/types';
import { identityContext, onCleanup } from '../helpers/harness';
import { checkSecretsAfterEachTest, faultDataPlane, faultIntegration, SECRETS, settingsFor, watchValue, WRITE_KEY, WRONG_KEY } from './support';

checkSecretsAfterEachTest();

/** In any case: URL parsing lower-cases a host name, and a key in one shows lower-cased. */
function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text.toLowerCase()).not.toContain(secret.toLowerCase());
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS module object itself, to patch lookup on it
const dnsModule = require('node:dns') as { lookup: unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain .js preload shared with child processes
const { unresolvableLookup } = require('../helpers/unresolvable-dns') as { unresolvableLookup: unknown };

/** Every host name fails to resolve, as an unknown one does, with no DNS query sent. */
function withUnresolvableHostNames(): void {
  const lookup = dnsModule.lookup;
  dnsModule.lookup = unresolvableLookup;
  onCleanup(async () => {
    dnsModule.lookup = lookup;
  });
}

/** A host fetch that fails as node-fetch does: its message names the URL it was given. */
function nodeFetchFailing(reason: string, code: string): FetchLike {
  return async (url) => {
    throw Object.assign(new Error(`request to ${url} failed, reason: ${reason}`), { name: 'FetchError', type: 'system', code, errno: code });
  };
}

it('keeps the key out of every delivery failure: 401, 400, 413, 5xx exhausted, refused, timeout, close timeout', async () => {
  const results: BatchResult[] = [];
  const dataPlane = await faultDataPlane();
  dataPlane.fail([
    { status: 400 },
    { status: 413 },
    { status: 500 },
    { status: 502 },
    { action: 'reset' },
    { action: 'hang' },
    { status: 429, headers: { 'Retry-After': '100' } },
  ]);
  const { integration, logger } = faultIntegration({
    config: {
      'env-a': settingsFor(dataPlane),
      'env-wrong': settingsFor(dataPlane, WRONG_KEY),
      'env-down': { api_key: WRITE_KEY, base_url: 'http://127.0.0.1:9' },
    },
    flushAt: 1,
    maxConcurrentRequests: 1,
    maxRetries: 1,
    requestTimeoutMs: 200,
    maxRetryAfterMs: 200_000,
    onBatchResult: (result) => results.push(result),
  });
  for (let i = 0; i < 5; i++) integration.postIdentityFetch(identityContext('env-a', `u-${i}`, { big: 'x'.repeat(40_000) }));
  integration.postIdentityFetch(identityContext('env-wrong', 'w'));
  integration.postIdentityFetch(identityContext('env-down', 'd'));
  await integration.close({ timeoutMs: 1_500 });
  expect(integration.stats().dropped.rejected).toBeGreaterThan(0);
  expect(integration.stats().dropped.retries_exhausted + integration.stats().dropped.close_timeout).toBeGreaterThan(0);
  expect(logger.lines.length).toBeGreaterThan(0);
  expectNoSecret(logger.text());
  expectNoSecret(JSON.stringify(integration.stats()));
  expect(results.length).toBeGreaterThan(0);
  expectNoSecret(JSON.stringify(results));
});

it('keeps a key pasted into the base_url path out of the logs when that URL is refused (404)', async () => {
  const dataPlane = await faultDataPlane();
  // A self-hoster pasted the write key where the URL's path goes; validation accepts a path.
  const { integration, logger } = faultIntegration({ config: { 'env-a': { api_key: WRITE_KEY, base_url: `${dataPlane.url}/${WRITE_KEY}` } } });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(dataPlane.requests.map((request) => request.status)).toEqual([404]);
  expect(logger.warnings()).toHaveLength(1);
  expectNoSecret(logger.text());
});

it('keeps a key pasted into the base_url path out of the logs when retries run out', async () => {
  const dataPlane = await faultDataPlane();
  dataPlane.fail([{ status: 503 }, { status: 503 }]);
  const { integration, logger } = faultIntegration({ config: { 'env-a': { api_key: WRITE_KEY, base_url: `${dataPlane.url}/${WRITE_KEY}` } }, maxRetries: 1 });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(integration.stats().dropped.retries_exhausted).toBe(1);
  expectNoSecret(logger.text());
});

it('keeps a key typed into the host name out of warnings and onBatchResult when that name does not resolve', async () => {
  withUnresolvableHostNames();
  const results: BatchResult[] = [];
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: `http://${WRITE_KEY}.invalid` } },
    // The default: every connection's name goes through the guarded lookup.
    allowPrivateNetworks: false,
    maxRetries: 1,
    onBatchResult: (result) => results.push(result),
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(integration.stats().dropped.retries_exhausted).toBe(1);
  expect(results).toEqual([expect.objectContaining({ result: 'retries_exhausted', error: expect.stringMatching(/ENOTFOUND/) })]);
  expect(logger.warnings().join('\n')).toMatch(/ENOTFOUND/);
  expectNoSecret(JSON.stringify(results));
  expectNoSecret(logger.text());
});

it.each([
  ['in the path', `http://127.0.0.1:9/${WRITE_KEY}`, 'connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'],
  ['as a host name label', `http://${WRITE_KEY}.invalid`, `getaddrinfo ENOTFOUND ${WRITE_KEY.toLowerCase()}.invalid`, 'ENOTFOUND'],
])('keeps a key %s out of warnings and onBatchResult when a host fetch names the URL in its error', async (_, baseUrl, reason, code) => {
  const results: BatchResult[] = [];
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: baseUrl } },
    fetch: nodeFetchFailing(reason, code),
    maxRetries: 1,
    onBatchResult: (result) => results.push(result),
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(results).toEqual([expect.objectContaining({ result: 'retries_exhausted', error: expect.stringMatching(/^.*request to http:.* failed, reason: /) })]);
  expect(logger.warnings().join('\n')).toContain(code);
  expectNoSecret(JSON.stringify(results));
  expectNoSecret(logger.text());
});

it('keeps a key typed as the password of base_url out of the warning for invalid settings', async () => {
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: `https://user:${WRITE_KEY}@dp.example.com` } },
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(integration.stats().dropped.invalid_settings).toBe(1);
  expect(logger.warnings().length).toBeGreaterThan(0);
  expectNoSecret(logger.text());
});

it('keeps URL credentials out of the warning when a settings lookup fails with an error naming its URL', async () => {
  const { integration, logger } = faultIntegration({
    config: {
      get: () => {
        throw new Error(`request to https://flagsmith:${WRITE_KEY}@config.example/settings failed, reason: socket hang up`);
      },
    },
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(integration.stats().dropped.config_error).toBe(1);
  expect(logger.warnings().join('\n')).toContain('request to https://config.example/settings failed, reason: socket hang up');
  expectNoSecret(logger.text());
});

it('keeps the key out of settings errors, wherever in the settings it was typed', () => {
  const attempts: unknown[] = [
    { api_key: WRITE_KEY, base_url: `https://user:${WRITE_KEY}@dp.example.com` },
    { api_key: WRITE_KEY, base_url: `https://dp.example.com/?writeKey=${WRITE_KEY}` },
    { api_key: WRITE_KEY, base_url: `${WRITE_KEY}` },
    { api_key: WRITE_KEY, base_url: `ftp://${WRITE_KEY}.example.com` },
    { api_key: WRITE_KEY, base_url: `http://localhost/${WRITE_KEY}` },
    { api_key: `  ${WRITE_KEY} `, base_url: `https://dp.example.com/${WRITE_KEY}#x` },
    { api_key: WRITE_KEY, base_url: `https://dp.example.com/${encodeURIComponent(WRITE_KEY)}?x=1` },
    { api_key: WRITE_KEY, base_url: 42 },
  ];
  for (const settings of attempts) {
    let thrown: unknown;
    try {
      validateSettings(settings);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SettingsError);
    watchValue('SettingsError', thrown);
    expectNoSecret(String((thrown as Error).message));
    expectNoSecret(JSON.stringify((thrown as SettingsError).errors));
  }
});

it('keeps the key out of the warning for invalid settings and out of stats', async () => {
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: `https://dp.example.com/?k=${WRITE_KEY}` } },
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(integration.stats().dropped.invalid_settings).toBe(1);
  expect(logger.warnings().length).toBeGreaterThan(0);
  expectNoSecret(logger.text());
});

it('keeps the key out of the log when a host fetch fails', async () => {
  const failing: FetchLike = async () => {
    throw Object.assign(new Error('socket closed by peer'), { code: 'ECONNRESET' });
  };
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: 'http://127.0.0.1:9' } },
    fetch: failing,
    maxRetries: 1,
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(integration.stats().dropped.retries_exhausted).toBe(1);
  expect(logger.text()).toMatch(/socket closed by peer/);
});

it('keeps the key out of the errors thrown for wrong options', () => {
  let thrown: unknown;
  try {
    const integration = new RudderStackIntegration({ config: { 'env-a': { api_key: WRITE_KEY, base_url: 'ftp://x' } }, flushAt: 0, maxRetries: -1 });
    onCleanup(() => integration.close());
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  watchValue('options TypeError', thrown);
  expect(String((thrown as Error).message)).toMatch(/flushAt/);
  expectNoSecret(`${(thrown as Error).message}\n${(thrown as Error).stack ?? ''}`);
});

it('keeps the key out of the integration and its config source as console.log or util.inspect shows them', async () => {
  const dataPlane = await faultDataPlane();
  const config = new StaticConfigSource({ 'env-a': settingsFor(dataPlane) });
  const { integration } = faultIntegration({ config });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush(); // the settings are cached and the destination made: both hold the key
  expect(integration.stats().delivered).toBe(1);
  expectNoSecret(inspect(integration, { depth: Infinity, showHidden: true }));
  expectNoSecret(inspect(config, { depth: Infinity, showHidden: true }));
});

it('sends the key only in the Authorization header of requests to the data plane', async () => {
  const dataPlane = await faultDataPlane();
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane) }, gzip: false });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  const [request] = dataPlane.requests;
  expect(request!.headers.authorization).toBe(`Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`);
  expectNoSecret(request!.body.toString('utf8'));
  expectNoSecret(JSON.stringify({ ...request!.headers, authorization: undefined }));
});
