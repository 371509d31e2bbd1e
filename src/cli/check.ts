import { RudderStackIntegration } from '../integration';
import { redact } from '../settings/messages';
import { validateSettings } from '../settings/validate';
import type { ApiFlag, BatchResult, Logger } from '../types';
import { readWriteKey } from './usage';

export interface CheckOptions {
  dataPlaneUrl?: string;
  writeKeyFile?: string;
  allowPrivateNetworks: boolean;
  timeoutMs: number;
}

export const CHECK_USER_ID = 'flagsmith-rudderstack-check';
const ENVIRONMENT = 'check';

/** Sends one test identify and says what the data plane's answer means. Exit code 0 only on delivery. */
export async function check(options: CheckOptions): Promise<number> {
  const settings = { api_key: readWriteKey(options.writeKeyFile), base_url: options.dataPlaneUrl ?? null };
  // Throws SettingsError, which main reports line by line.
  const { dataPlaneUrl } = validateSettings(settings, { allowPrivateNetworks: options.allowPrivateNetworks });
  process.stdout.write(`Settings are valid. Sending one test identify (userId "${CHECK_USER_ID}") to ${redact(dataPlaneUrl, settings.api_key)} ...\n`);

  let lastResult: BatchResult | undefined;
  const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const integration = new RudderStackIntegration({
    config: { [ENVIRONMENT]: settings },
    allowPrivateNetworks: options.allowPrivateNetworks,
    // The first answer is the verdict: no retries, no batching delay.
    maxRetries: 0,
    flushIntervalMs: 0,
    requestTimeoutMs: options.timeoutMs,
    // The verdict below says what the answer means; delivery's own warnings would repeat it.
    logger: quiet,
    onBatchResult: (result) => {
      lastResult = result;
    },
  });
  const testFlag: ApiFlag = {
    feature: { name: 'flagsmith_rudderstack_check' },
    enabled: true,
    feature_state_value: `test event sent by flagsmith-rudderstack check at ${new Date().toISOString()}; safe to ignore`,
  };
  integration.postIdentityFetch({ environmentKey: ENVIRONMENT, identity: { identifier: CHECK_USER_ID }, flags: [testFlag] });
  await integration.close({ timeoutMs: options.timeoutMs + 1_000 });

  if (integration.stats().delivered === 1) {
    process.stdout.write(`Delivered: the data plane accepted the test identify, so these settings work.\n`);
    return 0;
  }
  process.stdout.write(`Not delivered: ${meaningOf(lastResult, options.timeoutMs)}\n`);
  return 1;
}

/** What the data plane's answer to the test identify means, in one plain sentence. */
function meaningOf(result: BatchResult | undefined, timeoutMs: number): string {
  const status = result?.status ?? 0;
  if (status === 401) return 'the data plane does not know this write key (HTTP 401): copy the Write Key of an HTTP API source.';
  if (status === 404) {
    return 'the source is disabled, or this URL is not a RudderStack data plane (HTTP 404): enable the source, or use the data plane URL from your RudderStack dashboard.';
  }
  if (status === 429) return 'the data plane is rate limiting this source (HTTP 429): try again later.';
  if (status >= 500) return `the data plane failed to answer (HTTP ${status}): it is down or overloaded; try again later.`;
  if (status >= 300 && status < 400) {
    return `the URL redirects elsewhere (HTTP ${status}): use the data plane URL itself, as your RudderStack dashboard shows it.`;
  }
  if (status >= 400) return `the data plane refused the event (HTTP ${status}); please report this as a bug of flagsmith-rudderstack.`;
  if (result?.timedOut) return `no answer within ${timeoutMs} ms: check the URL, and that the data plane is reachable from this machine.`;
  if (result?.error) return `could not reach the data plane (${result.error}): check the URL, and that it is reachable from this machine.`;
  return 'the data plane gave no answer that counts as delivered.';
}
