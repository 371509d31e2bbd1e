/**
 * The reference host's /metrics (metricsPort): the integration's metrics on a port of their own,
 * as Flagsmith serves its metrics, scraped over HTTP after real identities calls.
 */
import * as path from 'node:path';
import { startReferenceHost } from '../../src/host/reference-host';
import { closeHarnesses, createIntegration, onCleanup, startDataPlane } from '../helpers/harness';

const DOCUMENT = path.resolve(__dirname, '../../fixtures/environment-document.json');
const ENVIRONMENT_KEY = 'Vt3mQ9pLx7RkWc2HsYbN4e';
const WRITE_KEY = 'wk_metrics_host_secret';

afterEach(closeHarnesses);

describe('the reference host with metricsPort', () => {
  test('serves the integration metrics at /metrics after identities calls, and nothing else there', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });
    const integration = createIntegration({ config: { [ENVIRONMENT_KEY]: { api_key: WRITE_KEY, base_url: dataPlane.url } } });
    const host = await startReferenceHost({ environmentDocumentPath: DOCUMENT, integration, metricsPort: 0 });
    onCleanup(() => host.close());
    expect(host.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(host.metricsUrl!).port).not.toBe(new URL(host.apiUrl).port);

    for (const identifier of ['user_1', 'user_2']) {
      const response = await fetch(`${host.apiUrl}identities/?identifier=${identifier}`, { headers: { 'X-Environment-Key': ENVIRONMENT_KEY } });
      expect(response.status).toBe(200);
    }
    await integration.flush();

    const scrape = await fetch(host.metricsUrl!);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    expect(text).toContain('# TYPE flagsmith_rudderstack_events_total counter\nflagsmith_rudderstack_events_total{outcome="delivered"} 2\n');
    expect(text).toContain('flagsmith_rudderstack_destinations{state="idle"} 1\n');
    expect(text).not.toContain(WRITE_KEY);
    expect((await fetch(host.metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
  });

  test('without metricsPort there is no metrics URL; with a stand-in for the integration, a TypeError before anything listens', async () => {
    const integration = createIntegration({ config: {} });
    const host = await startReferenceHost({ environmentDocumentPath: DOCUMENT, integration });
    onCleanup(() => host.close());
    expect(host.metricsUrl).toBeUndefined();
    await expect(
      startReferenceHost({ environmentDocumentPath: DOCUMENT, integration: { postIdentityFetch: () => undefined }, metricsPort: 0 }),
    ).rejects.toThrow('metricsPort needs the integration to be a RudderStackIntegration');
  });
});
