/**
 * flagsmith-rudderstack/opentelemetry: the instruments read through the real OpenTelemetry metrics
 * SDK (a MeterProvider whose reader exports to an InMemoryMetricExporter) after real traffic: a
 * delivering destination, a paused one, a retrying one. Same table as Prometheus, same values.
 */
import { inspect } from 'node:util';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { METRICS } from '../../src/metrics/definitions';
import { collectOpenTelemetryMetrics } from '../../src/metrics/opentelemetry';
import { closeHarnesses, createIntegration, onCleanup } from '../helpers/harness';
import { SECRETS, startTraffic } from './traffic';

afterEach(closeHarnesses);

const P = 'flagsmith_rudderstack_';

interface Sdk {
  provider: MeterProvider;
  /** Collects and exports now; the metrics of that export. */
  collect(): Promise<MetricData[]>;
}

function sdk(): Sdk {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when told (forceFlush): no timing in the test.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  onCleanup(() => provider.shutdown());
  return {
    provider,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      return exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    },
  };
}

/** Each data point's attributes and value, of one metric. */
function points(metrics: MetricData[], name: string): Array<[Record<string, unknown>, unknown]> {
  const metric = metrics.find((m) => m.descriptor.name === name);
  if (!metric) throw new Error(`no metric ${name} in ${metrics.map((m) => m.descriptor.name).join(', ')}`);
  return metric.dataPoints.map((point) => [point.attributes, point.value]);
}

function value(metrics: MetricData[], name: string, attributes: Record<string, string> = {}): unknown {
  return points(metrics, name).find(([a]) => JSON.stringify(a) === JSON.stringify(attributes))?.[1];
}

/** What kind of instrument the SDK saw: a monotonic sum is a counter. */
function kindOf(metric: MetricData): string {
  if (metric.dataPointType === DataPointType.SUM) return metric.isMonotonic ? 'counter' : 'up-down counter';
  return metric.dataPointType === DataPointType.GAUGE ? 'gauge' : metric.dataPointType === DataPointType.HISTOGRAM ? 'histogram' : 'other';
}

describe('collectOpenTelemetryMetrics', () => {
  it('exports real traffic with the same names (without _total), kinds, units, attributes and values as the table says', async () => {
    const { provider, collect } = sdk();
    const traffic = await startTraffic((integration) => collectOpenTelemetryMetrics(integration, { meter: provider.getMeter('test') }));
    const metrics = await collect();

    // Every metric of the table, of its kind and unit (the outbox gauges have no point without an outbox, so are not exported).
    const exported = new Map(metrics.map((metric) => [metric.descriptor.name, metric]));
    for (const definition of METRICS.filter((d) => !d.name.startsWith('outbox_'))) {
      const name = P + definition.name.replace(/_total$/, '');
      const metric = exported.get(name);
      expect([name, metric && kindOf(metric), metric?.descriptor.unit]).toEqual([name, definition.type, definition.unit]);
    }
    expect([...exported.keys()].filter((name) => name.endsWith('_total'))).toEqual([]);

    expect(value(metrics, `${P}events_received`)).toBe(8);
    expect(points(metrics, `${P}events`)).toEqual([
      [{ outcome: 'delivered' }, 3],
      [{ outcome: 'skipped' }, 1],
      [{ outcome: 'unchanged' }, 0],
    ]);
    const dropped = traffic.integration.stats().dropped;
    expect(Object.fromEntries(points(metrics, `${P}events_dropped`).map(([a, v]) => [a.reason, v]))).toEqual(dropped);
    expect(dropped).toMatchObject({ rejected: 2, config_error: 1 });
    expect(value(metrics, `${P}config_lookup_errors`)).toBe(1);
    expect(value(metrics, `${P}retries`)).toBe(1);
    expect(value(metrics, `${P}requests`, { status_class: '2xx' })).toBe(1);
    expect(value(metrics, `${P}requests`, { status_class: '4xx' })).toBe(1);
    expect(value(metrics, `${P}requests`, { status_class: '5xx' })).toBe(1);
    expect(value(metrics, `${P}requests`, { status_class: 'timeout' })).toBe(0);

    const duration = value(metrics, `${P}request_duration_seconds`) as { count: number; sum: number; buckets: { boundaries: number[]; counts: number[] } };
    expect(duration.count).toBe(3);
    expect(duration.sum).toBeGreaterThan(0);
    expect(duration.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    expect(value(metrics, `${P}batch_size_events`)).toMatchObject({ count: 3, sum: 5, min: 1, max: 3 });
    const answeredBytes = traffic.wireBytes().slice(0, 3);
    expect(value(metrics, `${P}batch_size_bytes`)).toMatchObject({ count: 3, sum: answeredBytes.reduce((a, b) => a + b, 0) });

    expect(value(metrics, `${P}queued_events`)).toBe(0);
    expect(value(metrics, `${P}in_flight_events`)).toBe(1);
    expect(points(metrics, `${P}destinations`)).toEqual([
      [{ state: 'idle' }, 1],
      [{ state: 'sending' }, 0],
      [{ state: 'retrying' }, 1],
      [{ state: 'paused' }, 1],
      [{ state: 'refused' }, 0],
    ]);
    expect(points(metrics, `${P}environment_destination_state`)).toEqual([
      [{ environment_key: 'env-paused', state: 'paused' }, 1],
      [{ environment_key: 'env-retrying', state: 'retrying' }, 1],
    ]);
  });

  it('never exports a write key', async () => {
    const { provider, collect } = sdk();
    const traffic = await startTraffic((integration) => collectOpenTelemetryMetrics(integration, { meter: provider.getMeter('test') }));
    await traffic.sendWithKeyInUrl();
    const shown = inspect(await collect(), { depth: 20 }) + JSON.stringify(traffic.integration.destinations());
    expect(shown).toContain('env-pasted');
    for (const secret of SECRETS) expect(shown).not.toContain(secret);
  });

  it('stop() ends the observations: later hook calls are not observed', async () => {
    const { provider, collect } = sdk();
    const integration = createIntegration({ config: {} });
    const collected = collectOpenTelemetryMetrics(integration, { meter: provider.getMeter('test') });
    expect(value(await collect(), `${P}events_received`)).toBe(0);
    collected.stop();
    integration.postIdentityFetch({ environmentKey: 'env-off', identity: { identifier: 'u' }, flags: [] });
    expect(integration.stats().received).toBe(1);
    // Not observed again: the SDK keeps the last value it was given (cumulative), never the new one.
    expect(value(await collect(), `${P}events_received`)).toBe(0);
  });
});
