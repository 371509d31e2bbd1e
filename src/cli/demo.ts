import * as fs from 'node:fs';
import * as path from 'node:path';
import { startReferenceHost } from '../host/reference-host';
import { RudderStackIntegration } from '../integration';
import { startLocalDataPlane, type LocalDataPlane } from '../testing/local-data-plane';
import type { RudderStackSettings } from '../types';
import { describeBatch } from './describe-batch';
import { hasPromClient, requireFlagsmithNodejs, requirePromClient } from './flagsmith-nodejs';
import { validateSettings } from '../settings/validate';
import { redact } from '../settings/messages';
import { CommandFailure, DATA_PLANE_URL_ENV, UsageError, WRITE_KEY_ENV } from './usage';

type FlagsmithClientModule = typeof import('@flagsmith/flagsmith/isomorphic');

export const DEMO_DOCUMENT = path.join(__dirname, '..', '..', 'fixtures', 'environment-document.json');
const LOCAL_WRITE_KEY = 'demo-write-key';
/** The series the demo shows of its metrics: what the identities calls became, and the destination's state. */
const SHOWN_SERIES =
  /^flagsmith_rudderstack_(events_received_total|events_total\{outcome="delivered"\}|requests_total\{status_class="2xx"\}|destinations\{state="idle"\}|request_duration_seconds_count|batch_size_bytes_sum) /;

/** Identities that show each way Flagsmith decides a flag, and the flags that show it. */
const SCENARIOS: Array<{ identifier: string; traits?: Record<string, string | number | boolean>; shows: string; flags: string[] }> = [
  { identifier: 'user_123', shows: "no traits (GET): the multivariate flag gets this identity's variant", flags: ['onboarding_flow'] },
  {
    identifier: 'acme-admin@acme.example',
    traits: { plan: 'enterprise', seats: 250 },
    shows: 'plan=enterprise (POST): the enterprise_customers segment overrides two flags',
    flags: ['sso_login', 'api_rate_limit'],
  },
  {
    identifier: 'qa.tester@example.com',
    traits: { plan: 'enterprise' },
    shows: "identity overrides beat the segment's",
    flags: ['checkout_v2', 'maintenance_mode', 'api_rate_limit'],
  },
  { identifier: 'jane.doe@example.com', traits: { plan: 'free', beta_opt_in: true }, shows: 'environment defaults', flags: ['checkout_v2', 'sso_login'] },
];

/**
 * The demo `npm start` runs: a local data plane (or the one in RUDDERSTACK_DATA_PLANE_URL), the
 * reference host with the hook wired in, and Flagsmith's own JavaScript client driving it.
 */
export async function demo(options: { allowPrivateNetworks: boolean; metricsPort?: number }): Promise<number> {
  requireFlagsmithNodejs('demo');
  if (options.metricsPort !== undefined) requirePromClient('demo');
  // Shown by default where they can be: prom-client is an optional peer.
  const metricsPort = options.metricsPort ?? (hasPromClient() ? 0 : undefined);
  const { createFlagsmithInstance } = loadFlagsmithClient();
  const environmentKey = (JSON.parse(fs.readFileSync(DEMO_DOCUMENT, 'utf8')) as { api_key: string }).api_key;
  const remote = remoteSettings(options.allowPrivateNetworks);
  const dataPlane = remote
    ? null
    : await startLocalDataPlane({ writeKeys: [LOCAL_WRITE_KEY], onBatch: (batch) => process.stdout.write(`${describeBatch(batch)}\n`) });
  const settings: RudderStackSettings = remote ?? { api_key: LOCAL_WRITE_KEY, base_url: (dataPlane as LocalDataPlane).url };
  const integration = new RudderStackIntegration({ config: { [environmentKey]: settings }, allowPrivateNetworks: !remote || options.allowPrivateNetworks });
  const host = await startReferenceHost({ environmentDocumentPath: DEMO_DOCUMENT, integration, metricsPort });

  try {
    process.stdout.write(
      `Reference host: ${host.apiUrl} (flags from fixtures/environment-document.json)\n` +
        `Metrics: ${host.metricsUrl ? `${host.metricsUrl} (Prometheus, while the demo runs; README "Monitoring" says what each is)` : 'run npm install prom-client, and the demo serves them at /metrics'}\n` +
        `Data plane: ${remote ? `${redact(settings.base_url ?? '', settings.api_key)} (from ${DATA_PLANE_URL_ENV})` : `${settings.base_url} (local, started for this demo)`}\n\n`,
    );
    for (const scenario of SCENARIOS) {
      const client = createFlagsmithInstance();
      await client.init({ environmentID: environmentKey, api: host.apiUrl, identity: scenario.identifier, traits: scenario.traits });
      const values = scenario.flags.map((name) => `${name} = ${JSON.stringify(client.getValue(name))}`).join(', ');
      process.stdout.write(`Flagsmith client, identity ${JSON.stringify(scenario.identifier)}: ${scenario.shows}\n    ${values}\n`);
    }
    process.stdout.write(`\nFlushing: the data plane receives one identify per identities call${remote ? '' : ' (printed as it arrives)'}:\n`);
    await integration.flush();
    if (host.metricsUrl) process.stdout.write(`\nFrom ${host.metricsUrl}, after the flush:\n${await shownMetrics(host.metricsUrl)}`);
  } finally {
    await host.close();
    await integration.close();
    await dataPlane?.close();
  }
  const { delivered, received } = integration.stats();
  process.stdout.write(`\n${delivered} of ${received} identify event(s) delivered.\n`);
  return delivered === received ? 0 : 1;
}

/** A few series of a scrape, as Prometheus would read them. */
async function shownMetrics(url: string): Promise<string> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((line) => SHOWN_SERIES.test(line))
    .map((line) => `    ${line}\n`)
    .join('');
}

function remoteSettings(allowPrivateNetworks: boolean): RudderStackSettings | null {
  const writeKey = process.env[WRITE_KEY_ENV];
  const dataPlaneUrl = process.env[DATA_PLANE_URL_ENV];
  if (!writeKey && !dataPlaneUrl) return null;
  if (!writeKey || !dataPlaneUrl) {
    throw new UsageError(`to send the demo's events to your data plane, set both ${WRITE_KEY_ENV} and ${DATA_PLANE_URL_ENV}`);
  }
  const settings = { api_key: writeKey, base_url: dataPlaneUrl };
  // Throws SettingsError, which main reports line by line.
  validateSettings(settings, { allowPrivateNetworks });
  return settings;
}

/** Loaded on demand: @flagsmith/flagsmith is a devDependency, absent from an installed package. */
function loadFlagsmithClient(): FlagsmithClientModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@flagsmith/flagsmith/isomorphic') as FlagsmithClientModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new CommandFailure(
      "the demo drives the reference host with Flagsmith's JavaScript client, which is not installed here: run npm install @flagsmith/flagsmith, then try again",
    );
  }
}
