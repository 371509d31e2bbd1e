/**
 * The outbox metrics after real traffic through the durable outbox (on the PostgreSQL or PGlite
 * the notice names): pending rows and the oldest pending age per environment, in a real
 * prom-client registry and a real OpenTelemetry SDK, while the data plane is down and after.
 */
import { InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { collectOpenTelemetryMetrics } from '../../src/metrics/opentelemetry';
import { collectPrometheusMetrics } from '../../src/metrics/prometheus';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import { closeHarnesses, createIntegration, identityContext, onCleanup, startDataPlane, waitFor } from '../helpers/harness';
import { openTestDatabase, type TestDatabase } from '../helpers/postgres';

const P = 'flagsmith_rudderstack_';
const WRITE_KEY = 'wk_METRICS_outbox_5e2a9c';

let db: TestDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db.close());
afterEach(closeHarnesses);

/** `name{labels}` → value, of the samples of a scrape. */
async function samples(registry: Registry): Promise<Map<string, number>> {
  const lines = (await registry.metrics()).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return new Map(lines.map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))]));
}

describe('the outbox metrics', () => {
  it('show the rows each environment has waiting and the age of its oldest while the data plane is down, and nothing once delivered', async () => {
    const dataPlane = await startDataPlane();
    // Down, and asking for 5 s: the rows wait in the outbox that long (a fixed wait, no jitter).
    dataPlane.fail(Array.from({ length: 10 }, () => ({ status: 503, headers: { 'Retry-After': '5' } })));
    const outbox = new PostgresOutbox(db.client, { table: 'metrics_outbox' });
    await outbox.migrate();
    const integration = createIntegration({
      config: { 'env-a': { api_key: WRITE_KEY, base_url: dataPlane.url } },
      durable: outbox,
      flushIntervalMs: 20,
    });
    const registry = new Registry();
    collectPrometheusMetrics(integration, { registry });
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    onCleanup(() => provider.shutdown());
    collectOpenTelemetryMetrics(integration, { meter: provider.getMeter('test') });

    for (let i = 0; i < 10; i++) integration.postIdentityFetch(identityContext('env-a', `user-${i}`));
    await integration.whenDurable();
    await waitFor(() => integration.stats().parked >= 10, 'the rows to be tried and handed back');

    const down = await samples(registry);
    expect(down.get(`${P}outbox_pending_events{environment_key="env-a"}`)).toBe(10);
    expect(down.get(`${P}outbox_oldest_pending_age_seconds{environment_key="env-a"}`)).toBeGreaterThan(0);
    // Its rows wait in the outbox for their next try: the destination is retrying, from there.
    expect(down.get(`${P}destinations{state="retrying"}`)).toBe(1);
    expect(down.get(`${P}environment_destination_state{environment_key="env-a",state="retrying"}`)).toBe(1);
    expect(down.get(`${P}events_dropped_total{reason="expired"}`)).toBe(0);
    expect(down.get(`${P}events_dropped_total{reason="outbox_full"}`)).toBe(0);

    await reader.forceFlush();
    const exported = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    const pending = exported.find((metric) => metric.descriptor.name === `${P}outbox_pending_events`);
    expect(pending?.descriptor.unit).toBe('{event}');
    expect(pending?.dataPoints.map((point) => [point.attributes, point.value])).toEqual([[{ environment_key: 'env-a' }, 10]]);
    const age = exported.find((metric) => metric.descriptor.name === `${P}outbox_oldest_pending_age_seconds`);
    expect(age?.descriptor.unit).toBe('s');

    // The data plane is back: once the wait is over, the drain sends the rows.
    dataPlane.reset();
    await waitFor(() => integration.stats().delivered === 10, 'the backlog to be delivered', 20_000);
    // Delivered rows settle first; their delete follows.
    for (let deadline = Date.now() + 10_000; ((await integration.outboxStatus())?.pending ?? 0) > 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const up = await samples(registry);
    expect([...up.keys()].filter((series) => series.startsWith(`${P}outbox_`) && !series.startsWith(`${P}outbox_events_total`))).toEqual([]);
    expect(up.get(`${P}outbox_events_total{operation="persisted"}`)).toBe(10);
    expect(up.get(`${P}outbox_events_total{operation="parked"}`)).toBe(integration.stats().parked);
    expect(integration.stats().parked).toBeGreaterThan(0);
    expect(up.get(`${P}destinations{state="idle"}`)).toBe(1);
    expect(up.get(`${P}events_total{outcome="delivered"}`)).toBe(10);
  });
});
