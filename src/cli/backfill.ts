import { constants } from 'node:os';
import { offlineFlagsmith } from './flagsmith-nodejs';
import { RudderStackIntegration } from '../integration';
import { buildIdentifyMessage } from '../mapping';
import { validateSettings } from '../settings/validate';
import type { BatchResult, DropReason, IntegrationStats, Logger, ValueMode } from '../types';
import { countRecords, detectFormat, readIdentities, type IdentitiesFormat } from './identities-file';
import { print, stdoutGone } from './output';
import { Progress } from './progress';
import { CommandFailure, readWriteKey, requireFile, UsageError } from './usage';

export interface BackfillOptions {
  environmentDocument: string;
  identities: string;
  format?: IdentitiesFormat;
  skip: number;
  dryRun: boolean;
  dataPlaneUrl?: string;
  writeKeyFile?: string;
  allowPrivateNetworks: boolean;
  valueMode: ValueMode;
  /** Absent: the library's default. */
  maxRetries?: number;
}

/** The one environment a backfill sends for; it names the destination in log lines. */
const ENVIRONMENT = 'backfill';
/** Events held (queued or in a request) before reading waits for them: bounds memory whatever the file's size. */
const MAX_HELD_EVENTS = 2_000;
/** Invalid records reported one by one; the rest are only counted. */
const MAX_REPORTED_PROBLEMS = 10;

/** Signals that stop reading, flush and say where to resume: Ctrl-C, and a service manager's stop. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Exit code: 0 when every record was an identity and was delivered (or printed, or the reader of
 * the printed events went away), 1 otherwise, 128 + the signal's number when interrupted.
 */
export async function backfill(options: BackfillOptions): Promise<number> {
  requireFile(options.environmentDocument, '--environment-document');
  requireFile(options.identities, '--identities');
  // A data plane that refuses the key or source refuses every identity: stop reading at once.
  let refusedStatus: number | undefined;
  const integration = options.dryRun
    ? null
    : createIntegration(options, (result) => {
        if (result.status === 401 || result.status === 404) refusedStatus ??= result.status;
      });
  const format = options.format ?? (await detectFormat(options.identities));
  const total = Math.max(0, (await countRecords(options.identities, format)) - options.skip);
  const flagsmith = loadEnvironmentDocument(options.environmentDocument);
  const progress = new Progress(total, process.stderr);
  const startedAt = Date.now();

  let interrupted: NodeJS.Signals | undefined;
  const onInterrupt = (signal: NodeJS.Signals): void => {
    // A second signal stops at once.
    if (interrupted) process.exit(signalExitCode(signal));
    interrupted = signal;
    process.stderr.write(`\n${signal}: stopping; what was read is being delivered (another ${signal} stops at once)\n`);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onInterrupt);

  let position = 0;
  let sent = 0;
  let invalid = 0;
  const report = (): void => {
    const stats = integration?.stats();
    progress.update({ done: sent + invalid, delivered: stats?.delivered ?? 0, failed: stats ? failedCount(stats) : 0 });
  };
  try {
    for await (const record of readIdentities(options.identities, format)) {
      if (interrupted || refusedStatus !== undefined) break;
      position++;
      if (position <= options.skip) continue;
      if ('problem' in record) {
        if (++invalid <= MAX_REPORTED_PROBLEMS) process.stderr.write(`skipped ${record.problem}\n`);
        continue;
      }
      const { identifier, traits } = record.identity;
      const flags = await flagsmith.getIdentityFlags(identifier, traits);
      const context = { environmentKey: ENVIRONMENT, identity: { identifier }, flags };
      if (integration) {
        integration.postIdentityFetch(context);
        const { queued, inFlight } = integration.stats();
        if (queued + inFlight >= MAX_HELD_EVENTS) await integration.flush();
      } else if (!(await print(`${JSON.stringify(buildIdentifyMessage(context, { valueMode: options.valueMode }))}\n`))) {
        // The reader of the events went away.
        break;
      }
      sent++;
      if (sent % 100 === 0) report();
    }
    // Everything handed over is sent before the summary, also after Ctrl-C.
    report();
    await integration?.flush();
    report();
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onInterrupt);
    progress.stop();
    await integration?.close();
    await flagsmith.close();
  }

  // The reader of the printed events went away (`| head`): that ends a dry run, quietly.
  if (options.dryRun && stdoutGone()) return 0;
  const stats = integration?.stats();
  const summary = [
    `${interrupted ? 'Interrupted' : refusedStatus !== undefined ? 'Stopped' : 'Done'} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ` +
      `${sent} identit${sent === 1 ? 'y' : 'ies'} ${options.dryRun ? 'printed' : 'sent'}` +
      (invalid > 0 ? `, ${invalid} invalid record(s) skipped` : '') +
      (options.skip > 0 ? `, the first ${options.skip} skipped as asked` : '') +
      '.',
  ];
  if (stats) summary.push(`Delivered: ${stats.delivered}. Dropped: ${describeDropped(stats)}.`);
  if (refusedStatus !== undefined) {
    summary.push(
      `Stopped early: the data plane refused the ${refusedStatus === 401 ? 'write key (HTTP 401)' : 'source (HTTP 404: disabled, or not a data plane URL)'}. ` +
        'Fix the settings (flagsmith-rudderstack check tells when they work), then run the same command again.',
    );
  }
  if (interrupted) {
    summary.push(`Everything read so far was flushed. To resume, run the same command with --skip ${position}`);
  }
  // With --dry-run stdout carries the events, so the summary goes to stderr.
  (options.dryRun ? process.stderr : process.stdout).write(`${summary.join('\n')}\n`);
  if (stats !== undefined && stats.delivered < sent && refusedStatus === undefined) {
    process.stderr.write(
      `error: ${sent - stats.delivered} of ${sent} identities were not delivered (${describeDropped(stats)}); ` +
        'the warnings above say why; run the same command again once the data plane takes them\n',
    );
  }
  if (interrupted) return signalExitCode(interrupted);
  return invalid > 0 || (stats !== undefined && stats.delivered < sent) ? 1 : 0;
}

/** As a shell reports a process a signal ended: 130 for SIGINT, 143 for SIGTERM. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** The document, read and checked before any identity is: a wrong file is a usage error, not a crash. */
function loadEnvironmentDocument(file: string): ReturnType<typeof offlineFlagsmith> {
  try {
    return offlineFlagsmith(file);
  } catch (error) {
    // flagsmith-nodejs missing: its own line says how to get it.
    if (error instanceof CommandFailure) throw error;
    const what = error instanceof SyntaxError ? 'is not JSON' : 'is not an environment document';
    throw new UsageError(
      `--environment-document ${file} ${what}: save the JSON that GET /api/v1/environment-document/ returns (with a server-side environment key)`,
      { cause: error },
    );
  }
}

function createIntegration(options: BackfillOptions, onBatchResult: (result: BatchResult) => void): RudderStackIntegration {
  const settings = { api_key: readWriteKey(options.writeKeyFile), base_url: options.dataPlaneUrl ?? null };
  // Throws SettingsError, which main reports line by line.
  validateSettings(settings, { allowPrivateNetworks: options.allowPrivateNetworks });
  return new RudderStackIntegration({
    config: { [ENVIRONMENT]: settings },
    allowPrivateNetworks: options.allowPrivateNetworks,
    valueMode: options.valueMode,
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
    logger: stderrLogger,
    onBatchResult,
  });
}

/** Delivery's warnings (already rate limited) go to stderr; they never contain the write key. */
const stderrLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => process.stderr.write(`\nwarning: ${args.join(' ')}\n`),
  error: (...args: unknown[]) => process.stderr.write(`\nerror: ${args.join(' ')}\n`),
};

function failedCount(stats: IntegrationStats): number {
  return Object.values(stats.dropped).reduce((sum, count) => sum + count, 0);
}

function describeDropped(stats: IntegrationStats): string {
  const reasons = (Object.entries(stats.dropped) as Array<[DropReason, number]>).filter(([, count]) => count > 0);
  return reasons.length === 0 ? 'none' : reasons.map(([reason, count]) => `${count} ${reason}`).join(', ');
}
