/**
 * `structuredLogs`: a real pino logger gets what a line is about as fields, the message as its
 * message; without the option, the message alone.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { identityContext } from './helpers/harness';
import { checkSecretsAfterEachTest, faultDataPlane, faultIntegration, settingsFor, WRONG_KEY } from './faults/support';

checkSecretsAfterEachTest();

/** A pino logger writing its JSON lines into an array. */
function pinoLines(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

it('a pause is logged with the environment, the reason, the status and the data plane host as fields', async () => {
  const dataPlane = await faultDataPlane();
  const { logger, lines } = pinoLines();
  const { integration } = faultIntegration({ config: { 'env-a': settingsFor(dataPlane, WRONG_KEY) }, logger, structuredLogs: true });
  integration.postIdentityFetch(identityContext('env-a', 'user-1'));
  await integration.flush();
  const host = new URL(dataPlane.url).host;
  const paused = lines.find((line) => line.reason === 'paused');
  expect(paused).toMatchObject({ level: 40, environmentKey: 'env-a', reason: 'paused', status: 401, dataPlaneHost: host });
  expect(paused?.msg).toMatch(/answered HTTP 401: the data plane does not know this write key/);
});

it('bad input and invalid settings carry their reason and environment', async () => {
  const { logger, lines } = pinoLines();
  const { integration } = faultIntegration({ config: { 'env-bad': { api_key: '' } }, logger, structuredLogs: true });
  integration.postIdentityFetch(identityContext('env-bad', 'user-1'));
  integration.postIdentityFetch({ environmentKey: 'env-bad', identity: { identifier: '   ' }, flags: [] });
  await integration.flush();
  expect(lines).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ reason: 'no_user_id', msg: expect.stringMatching(/ignored an identities hook call \(no_user_id\)/) }),
      expect.objectContaining({ reason: 'invalid_settings', environmentKey: 'env-bad' }),
    ]),
  );
});

it('without structuredLogs the logger gets the message alone, as before', async () => {
  const dataPlane = await faultDataPlane();
  const calls: unknown[][] = [];
  const record = (...args: unknown[]): void => void calls.push(args);
  const { integration } = faultIntegration({
    config: { 'env-a': settingsFor(dataPlane, WRONG_KEY) },
    logger: { debug: record, info: record, warn: record, error: record },
  });
  integration.postIdentityFetch(identityContext('env-a', 'user-1'));
  await integration.flush();
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.every((args) => args.length === 1 && typeof args[0] === 'string')).toBe(true);
});

it('refuses a structuredLogs that is not a boolean', () => {
  expect(() => faultIntegration({ config: {}, structuredLogs: 'yes' as unknown as boolean })).toThrow(/structuredLogs must be true or false \(got a string\)/);
});
