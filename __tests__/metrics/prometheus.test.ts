/**
 * flagsmith-rudderstack/prometheus: a real prom-client registry scraped after real traffic (a
 * delivering destination, a paused one, a retrying one), read back as Prometheus reads it: the
 * text exposition format, its TYPE lines, label sets and values.
 */
import { Registry } from 'prom-client';
import { collectPrometheusMetrics } from '../../src/metrics/prometheus';
import { METRICS } from '../../src/metrics/definitions';
import { closeHarnesses, createIntegration } from '../helpers/harness';
import { SECRETS, startTraffic } from './traffic';

afterEach(closeHarnesses);

interface Scrape {
  types: Map<string, string>;
  /** `name{label="value",...}` → value, labels in the order written. */
  samples: Map<string, number>;
  text: string;
}

/** The text exposition format, line by line, as Prometheus parses it (no escapes are needed here). */
function parse(text: string): Scrape {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^(\S+?(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    samples.set(sample[1]!, Number(sample[2]));
  }
  return { types, samples, text };
}

async function scrape(registry: Registry): Promise<Scrape> {
  return parse(await registry.metrics());
}

const P = 'flagsmith_rudderstack_';

describe('collectPrometheusMetrics', () => {
  it('shows real traffic: events by outcome and drop reason, requests by status class, histograms, holdings, destinations by state', async () => {
    const registry = new Registry();
    const traffic = await startTraffic((integration) => collectPrometheusMetrics(integration, { registry }));
    const { types, samples } = await scrape(registry);

    // Every metric of the table, with its type.
    for (const definition of METRICS) expect([P + definition.name, types.get(P + definition.name)]).toEqual([P + definition.name, definition.type]);

    expect(samples.get(`${P}events_received_total`)).toBe(8);
    expect(samples.get(`${P}events_total{outcome="delivered"}`)).toBe(3);
    expect(samples.get(`${P}events_total{outcome="skipped"}`)).toBe(1);
    expect(samples.get(`${P}events_total{outcome="unchanged"}`)).toBe(0);
    // Every reason of stats().dropped has its series, zeros included, so that rate() starts from the first scrape.
    const dropped = traffic.integration.stats().dropped;
    for (const [reason, count] of Object.entries(dropped))
      expect([reason, samples.get(`${P}events_dropped_total{reason="${reason}"}`)]).toEqual([reason, count]);
    expect(dropped).toMatchObject({ rejected: 2, config_error: 1 });
    expect(samples.get(`${P}config_lookup_errors_total`)).toBe(1);
    expect(samples.get(`${P}retries_total`)).toBe(1);

    // Requests: 200 and 401 from the first data plane, 503 from the second (its retry still hangs, so not yet counted).
    expect(samples.get(`${P}requests_total{status_class="2xx"}`)).toBe(1);
    expect(samples.get(`${P}requests_total{status_class="4xx"}`)).toBe(1);
    expect(samples.get(`${P}requests_total{status_class="5xx"}`)).toBe(1);
    for (const statusClass of ['3xx', 'other', 'timeout', 'network_error']) expect(samples.get(`${P}requests_total{status_class="${statusClass}"}`)).toBe(0);

    const answeredBytes = traffic.wireBytes().slice(0, 3);
    expect(samples.get(`${P}request_duration_seconds_count`)).toBe(3);
    expect(samples.get(`${P}request_duration_seconds_sum`)).toBeGreaterThan(0);
    expect(samples.get(`${P}request_duration_seconds_bucket{le="+Inf"}`)).toBe(3);
    expect(samples.get(`${P}request_duration_seconds_bucket{le="10"}`)).toBe(3);
    expect(samples.get(`${P}batch_size_events_count`)).toBe(3);
    expect(samples.get(`${P}batch_size_events_sum`)).toBe(5);
    expect(samples.get(`${P}batch_size_events_bucket{le="1"}`)).toBe(2);
    expect(samples.get(`${P}batch_size_events_bucket{le="10"}`)).toBe(3);
    expect(samples.get(`${P}batch_size_bytes_count`)).toBe(3);
    expect(samples.get(`${P}batch_size_bytes_sum`)).toBe(answeredBytes.reduce((a, b) => a + b, 0));

    expect(samples.get(`${P}queued_events`)).toBe(0);
    expect(samples.get(`${P}in_flight_events`)).toBe(1);
    expect(samples.get(`${P}destinations{state="idle"}`)).toBe(1);
    expect(samples.get(`${P}destinations{state="paused"}`)).toBe(1);
    expect(samples.get(`${P}destinations{state="retrying"}`)).toBe(1);
    expect(samples.get(`${P}destinations{state="sending"}`)).toBe(0);
    expect(samples.get(`${P}destinations{state="refused"}`)).toBe(0);

    // Only troubled environments are named, and only by their key.
    const byEnvironment = [...samples].filter(([series]) => series.startsWith(`${P}environment_destination_state{`));
    expect(byEnvironment).toEqual([
      [`${P}environment_destination_state{environment_key="env-paused",state="paused"}`, 1],
      [`${P}environment_destination_state{environment_key="env-retrying",state="retrying"}`, 1],
    ]);
    // No durable outbox: its metrics are declared, with no series.
    expect([...samples.keys()].filter((series) => series.startsWith(`${P}outbox_`))).toEqual([]);
  });

  it('reads the integration anew at each scrape: a series for a state gone is gone', async () => {
    const registry = new Registry();
    const traffic = await startTraffic((integration) => collectPrometheusMetrics(integration, { registry }));
    expect((await scrape(registry)).samples.get(`${P}destinations{state="retrying"}`)).toBe(1);
    // The retrying data plane goes away: the hanging attempt fails, the batch retries and runs out of retries.
    await traffic.retryingDataPlane.close();
    await traffic.integration.flush();
    const { samples } = await scrape(registry);
    expect(samples.get(`${P}destinations{state="retrying"}`)).toBe(0);
    expect(samples.get(`${P}destinations{state="refused"}`)).toBe(1);
    expect(samples.get(`${P}in_flight_events`)).toBe(0);
    expect(samples.get(`${P}events_dropped_total{reason="retries_exhausted"}`)).toBe(1);
    expect(samples.has(`${P}environment_destination_state{environment_key="env-retrying",state="retrying"}`)).toBe(false);
    expect(samples.get(`${P}environment_destination_state{environment_key="env-retrying",state="refused"}`)).toBe(1);
    expect(samples.get(`${P}requests_total{status_class="network_error"}`)).toBeGreaterThanOrEqual(1);
  });

  it('reads the integration once per scrape, not once per metric', async () => {
    const registry = new Registry();
    const integration = createIntegration({ config: {} });
    const outboxStatus = jest.spyOn(integration, 'outboxStatus');
    collectPrometheusMetrics(integration, { registry });
    await registry.metrics();
    await registry.metrics();
    expect(outboxStatus).toHaveBeenCalledTimes(2);
  });

  it('never shows a write key, in the metrics or in destinations()', async () => {
    const registry = new Registry();
    const traffic = await startTraffic((integration) => collectPrometheusMetrics(integration, { registry }));
    await traffic.sendWithKeyInUrl();
    const shown = [await registry.metrics(), JSON.stringify(await registry.getMetricsAsJSON()), JSON.stringify(traffic.integration.destinations())].join('\n');
    expect(shown).toContain('environment_key="env-pasted",state="paused"');
    for (const secret of SECRETS) expect(shown).not.toContain(secret);
  });

  it('uses the default registry and prefix unless told, refuses to register twice, and stop() takes the metrics away', async () => {
    const { register } = await import('prom-client');
    const integration = createIntegration({ config: {} });
    const collected = collectPrometheusMetrics(integration);
    expect(collected.registry).toBe(register);
    expect(register.getSingleMetric(`${P}events_received_total`)).toBeDefined();
    expect(() => collectPrometheusMetrics(integration)).toThrow(
      `${P}events_received_total is registered already: stop() the earlier collectPrometheusMetrics(), or pass another registry or prefix`,
    );
    collected.stop();
    expect(register.getSingleMetric(`${P}events_received_total`)).toBeUndefined();

    const registry = new Registry();
    collectPrometheusMetrics(integration, { registry, prefix: 'api_' });
    expect((await scrape(registry)).samples.get('api_events_received_total')).toBe(0);
  });

  it('refuses what is not an integration of this package, saying what it needs', () => {
    const lookalike = { stats: () => ({}), destinations: () => [], outboxStatus: () => Promise.resolve(undefined) };
    expect(() => collectPrometheusMetrics(lookalike as never, { registry: new Registry() })).toThrow(
      'collectPrometheusMetrics needs a RudderStackIntegration of flagsmith-rudderstack, made with new RudderStackIntegration(...)',
    );
  });
});
