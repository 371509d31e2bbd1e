/**
 * `flagsmith-rudderstack/opentelemetry`: the integration's metrics as OpenTelemetry instruments (an
 * optional peer dependency: `npm install @opentelemetry/api`, and a metrics SDK to export them).
 * @module flagsmith-rudderstack/opentelemetry
 */
import type { BatchObservableCallback, Histogram, Meter, Observable } from '@opentelemetry/api';
import { requireOptionalPeer } from '../host/flagsmith-nodejs';
import type { RudderStackIntegration } from '../integration';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { DEFAULT_PREFIX, healthFor, METRICS, readMetrics, type HistogramMetric, type ReadMetric } from './definitions';

type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** Options of `collectOpenTelemetryMetrics`. */
export interface OpenTelemetryMetricsOptions {
  /** Where the instruments are made (default: the global meter provider's meter for flagsmith-rudderstack). */
  meter?: Meter;
  /** Put before every instrument name (default `'flagsmith_rudderstack_'`). */
  prefix?: string;
}

/** What `collectOpenTelemetryMetrics` returns. */
export interface OpenTelemetryMetrics {
  /** Stops reporting the integration's metrics. */
  stop(): void;
}

/**
 * Makes the integration's instruments (README "Monitoring" lists them; names as in Prometheus,
 * without `_total`, which exporters add to counters). Counters and gauges are observed from the
 * integration in one callback per collection; the histograms are recorded per request. The hook
 * does no more work for it. Throws when @opentelemetry/api is not installed.
 */
export function collectOpenTelemetryMetrics(integration: RudderStackIntegration, options: OpenTelemetryMetricsOptions = {}): OpenTelemetryMetrics {
  const api = requireOptionalPeer<OpenTelemetryApi>('@opentelemetry/api');
  const health = healthFor(integration, 'collectOpenTelemetryMetrics');
  const meter = options.meter ?? api.metrics.getMeter(LIBRARY_NAME, LIBRARY_VERSION);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const observed: Array<[ReadMetric, Observable]> = [];
  const histograms: Array<[HistogramMetric, Histogram]> = [];
  for (const definition of METRICS) {
    const name = prefix + definition.name.replace(/_total$/, '');
    const description = { description: definition.help, unit: definition.unit };
    if (definition.type === 'histogram') {
      histograms.push([definition, meter.createHistogram(name, { ...description, advice: { explicitBucketBoundaries: [...definition.buckets] } })]);
    } else {
      observed.push([
        definition,
        definition.type === 'counter' ? meter.createObservableCounter(name, description) : meter.createObservableGauge(name, description),
      ]);
    }
  }
  const observe: BatchObservableCallback = async (result) => {
    const reading = await readMetrics(integration, health);
    for (const [definition, instrument] of observed) {
      for (const { labels, value } of definition.read(reading)) result.observe(instrument, value, labels);
    }
  };
  const instruments = observed.map(([, instrument]) => instrument);
  meter.addBatchObservableCallback(observe, instruments);
  const stopRecording = health.onRequest((sample) => {
    for (const [definition, histogram] of histograms) histogram.record(definition.valueOf(sample));
  });
  return {
    stop() {
      stopRecording();
      meter.removeBatchObservableCallback(observe, instruments);
    },
  };
}
