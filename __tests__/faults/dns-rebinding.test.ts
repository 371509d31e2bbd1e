/**
 * The network guard at send time: a data plane host name that passes validation but resolves to
 * an internal address is refused when connecting (DNS rebinding), unless allowPrivateNetworks.
 * Only the DNS answer is substituted (dns.lookup, spied on before the integration is made, as the
 * guarded lookup captures dns.lookup when delivery creates its agent); the HTTP stack and the data
 * plane are real. Redirects are never followed.
 */
import dns from 'node:dns';
import { validateSettings } from '../../src/settings/validate';
import { identityContext, startLoopbackServer } from '../helpers/harness';
import { checkSecretsAfterEachTest, faultDataPlane, faultIntegration, WRITE_KEY } from './support';

checkSecretsAfterEachTest();

const REBIND_HOST = 'rebind.example';
let lookups: string[] = [];

beforeEach(() => {
  lookups = [];
  const realLookup = dns.lookup;
  jest.spyOn(dns, 'lookup').mockImplementation(((hostname: string, options: unknown, callback: unknown) => {
    if (hostname !== REBIND_HOST) return (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
    lookups.push(hostname);
    const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    process.nextTick(() => (all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)));
  }) as typeof dns.lookup);
});

afterEach(() => {
  jest.restoreAllMocks();
});

it('passes validation: the name is public, only its DNS answer is internal', () => {
  expect(validateSettings({ api_key: WRITE_KEY, base_url: `http://${REBIND_HOST}:8080` })).toEqual({
    writeKey: WRITE_KEY,
    dataPlaneUrl: `http://${REBIND_HOST}:8080`,
  });
});

it('refuses to connect to a host name that resolves to a loopback address, and pauses the destination', async () => {
  const dataPlane = await faultDataPlane();
  const port = new URL(dataPlane.url).port;
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: `http://${REBIND_HOST}:${port}` } },
    allowPrivateNetworks: false,
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  integration.postIdentityFetch(identityContext('env-a', 'u2'));
  await integration.flush();

  expect(lookups.length).toBeGreaterThan(0);
  expect(dataPlane.requests).toHaveLength(0);
  expect(integration.stats()).toMatchObject({ delivered: 0, queued: 0, inFlight: 0 });
  expect(integration.stats().dropped.rejected).toBe(2);
  const warnings = logger.warnings();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/environment env-a/);
  expect(warnings[0]).toMatch(/rebind\.example" resolved to internal address 127\.0\.0\.1; set allowPrivateNetworks/);
});

it('delivers through the same name when allowPrivateNetworks is set', async () => {
  const dataPlane = await faultDataPlane();
  const port = new URL(dataPlane.url).port;
  const { integration, logger } = faultIntegration({
    config: { 'env-a': { api_key: WRITE_KEY, base_url: `http://${REBIND_HOST}:${port}` } },
    allowPrivateNetworks: true,
  });
  integration.postIdentityFetch(identityContext('env-a', 'u1'));
  await integration.flush();
  expect(lookups.length).toBeGreaterThan(0);
  expect(dataPlane.events.map((event) => event.userId)).toEqual(['u1']);
  expect(dataPlane.requests[0]!.headers.host).toBe(`${REBIND_HOST}:${port}`);
  expect(logger.warnings()).toEqual([]);
});

describe('redirects', () => {
  async function redirectingServer(location: string): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const url = await startLoopbackServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => {
        res.writeHead(307, { Location: location, 'Content-Length': '0' });
        res.end();
      });
    });
    return { url, hits: () => hits };
  }

  // The redirector is on 127.0.0.1, which validation admits only with allowPrivateNetworks.
  it.each([
    ['the data plane by its address', (plane: string) => `${plane}/v1/batch`],
    ['a public-looking name that resolves to loopback', (plane: string) => `http://${REBIND_HOST}:${new URL(plane).port}/v1/batch`],
  ])('are not followed (307 to %s): the event is counted as rejected', async (_what, location) => {
    const dataPlane = await faultDataPlane();
    const redirector = await redirectingServer(location(dataPlane.url));
    const { integration } = faultIntegration({
      config: { 'env-a': { api_key: WRITE_KEY, base_url: redirector.url } },
      allowPrivateNetworks: true,
    });
    integration.postIdentityFetch(identityContext('env-a', 'u1'));
    await integration.flush();
    expect(redirector.hits()).toBe(1);
    expect(dataPlane.requests).toHaveLength(0);
    expect(lookups).toEqual([]);
    expect(integration.stats()).toMatchObject({ delivered: 0, retried: 0 });
    expect(integration.stats().dropped.rejected).toBe(1);
  });
});
