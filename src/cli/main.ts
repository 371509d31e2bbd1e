#!/usr/bin/env node
import { inspect } from 'node:util';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SettingsError } from '../settings/validate';
import type { ValueMode } from '../types';
import { LIBRARY_VERSION } from '../version';
import { backfill } from './backfill';
import { check } from './check';
import { demo } from './demo';
import { DATABASE_URL_ENV, outboxMigrate, outboxStatus, type OutboxCommandOptions } from './outbox';
import { watchOutput } from './output';
import { sink, SINK_WRITE_KEYS_ENV } from './sink';
import { CommandFailure, DATA_PLANE_URL_ENV, UsageError, WRITE_KEY_ENV } from './usage';

/** Exit code of a bad argument, as most command-line tools use it. */
const USAGE_EXIT_CODE = 2;

function integer(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return value;
  };
}

function share(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value >= 0 && value <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1.');
  return value;
}

const examples = (...lines: string[]): string => `\nExample:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;

const dataPlaneUrlOption = (): Option =>
  new Option('--data-plane-url <url>', 'RudderStack data plane URL (default https://hosted.rudderlabs.com)').env(DATA_PLANE_URL_ENV);
const writeKeyFileOption = (): Option =>
  new Option('--write-key-file <file>', `file holding the write key (otherwise ${WRITE_KEY_ENV}; never a bare argument)`);
const metricsPortOption = (what: string): Option =>
  new Option('--metrics-port <port>', `serve Prometheus metrics of ${what} at /metrics on this port of 127.0.0.1 (needs prom-client)`).argParser(
    integer(0, 65_535),
  );
const privateNetworksOption = (): Option =>
  new Option('--allow-private-networks', 'admit a data plane on localhost or an internal address (self-hosted RudderStack)').default(false);

function buildProgram(): Command {
  const program = new Command('flagsmith-rudderstack')
    .description("Check RudderStack settings, backfill identities, and run a local data plane for Flagsmith's RudderStack integration.")
    .version(LIBRARY_VERSION)
    .option('--debug', 'on an error, show where it happened (a stack trace), not only what to do', false)
    .exitOverride()
    // Commander's one-line messages, without a wall of usage after them.
    .showHelpAfterError(false);

  program
    .command('check')
    .description('Validate the settings and send one clearly marked test identify; exit 0 only if it was delivered.')
    .addOption(dataPlaneUrlOption())
    .addOption(writeKeyFileOption())
    .addOption(privateNetworksOption())
    .addOption(new Option('--timeout-ms <ms>', 'how long to wait for the answer').default(10_000).argParser(integer(1, 600_000)))
    .addHelpText('after', examples(`${WRITE_KEY_ENV}=... flagsmith-rudderstack check --data-plane-url https://yourcompany.dataplane.rudderstack.com`))
    .action(async (options: { dataPlaneUrl?: string; writeKeyFile?: string; allowPrivateNetworks: boolean; timeoutMs: number }) => {
      process.exitCode = await check(options);
    });

  program
    .command('backfill')
    .description("Send existing identities' current flags, evaluated offline from an environment document, as identify events.")
    .requiredOption('--environment-document <file>', 'the JSON that /api/v1/environment-document/ returns')
    .requiredOption('--identities <file>', 'NDJSON of {"identifier", "traits"}, or CSV with an identifier column and one column per trait')
    .addOption(new Option('--format <format>', 'identities file format (default: by extension, else by content)').choices(['ndjson', 'csv']))
    .addOption(new Option('--skip <n>', 'skip the first n identities (to resume)').default(0).argParser(integer(0, Number.MAX_SAFE_INTEGER)))
    .option('--dry-run', 'print the identify events as NDJSON instead of sending them', false)
    .addOption(new Option('--value-mode <mode>', 'how a flag becomes a trait').choices(['documented', 'flagsmith-python']).default('documented'))
    .addOption(dataPlaneUrlOption())
    .addOption(writeKeyFileOption())
    .addOption(privateNetworksOption())
    .addOption(new Option('--max-retries <n>', 'attempts after the first before a batch counts as not delivered (default 8)').argParser(integer(0, 100)))
    .addHelpText(
      'after',
      examples(
        `${WRITE_KEY_ENV}=... flagsmith-rudderstack backfill --environment-document env.json --identities users.csv --data-plane-url https://yourcompany.dataplane.rudderstack.com`,
        'flagsmith-rudderstack backfill --environment-document env.json --identities users.ndjson --dry-run | head',
      ),
    )
    .action(async (options: Parameters<typeof backfill>[0] & { valueMode: ValueMode }) => {
      process.exitCode = await backfill(options);
    });

  program
    .command('sink')
    .description('Run a local RudderStack-compatible data plane on 127.0.0.1 that prints what it receives.')
    .addOption(new Option('--port <port>', 'port to listen on, 0 for any free port').default(8080).argParser(integer(0, 65_535)))
    .option('--write-keys-file <file>', `accept only these write keys, one a line (or ${SINK_WRITE_KEYS_ENV}, comma-separated); any key otherwise`)
    .option('--out <file>', 'write the events as NDJSON to this file instead of printing them')
    .addOption(new Option('--fail-rate <share>', 'answer this share of requests with --status, to rehearse outages').argParser(share))
    .addOption(new Option('--status <status>', 'status of failed requests (default 503; alone: every request fails)').argParser(integer(200, 599)))
    .addOption(metricsPortOption('what it receives'))
    .addHelpText('after', examples('flagsmith-rudderstack sink --port 8080 --fail-rate 0.3 --status 503 --metrics-port 9464'))
    .action(async (options: Parameters<typeof sink>[0]) => {
      process.exitCode = await sink(options);
    });

  program
    .command('demo')
    .description(
      `Run the reference host with the hook wired in, drive it with Flagsmith's JavaScript client, and show the identify events ` +
        `(to a local data plane, or to yours when ${WRITE_KEY_ENV} and ${DATA_PLANE_URL_ENV} are set).`,
    )
    .addOption(privateNetworksOption())
    .addOption(metricsPortOption("the integration's metrics (default: any free port when prom-client is installed)"))
    .addHelpText(
      'after',
      examples(
        'flagsmith-rudderstack demo',
        `${WRITE_KEY_ENV}=... ${DATA_PLANE_URL_ENV}=https://yourcompany.dataplane.rudderstack.com flagsmith-rudderstack demo`,
      ),
    )
    .action(async (options: Parameters<typeof demo>[0]) => {
      process.exitCode = await demo(options);
    });

  const outbox = program.command('outbox').description('The durable outbox: what waits in it, and creating its table.');
  const databaseOptions = (command: Command): Command =>
    command
      .addOption(new Option('--database-url <url>', 'PostgreSQL URL (its password is never printed)').env(DATABASE_URL_ENV))
      .option('--data-dir <dir>', 'a PGlite data directory instead (the embedded default)')
      .option('--table <name>', 'table or schema.table (default flagsmith_rudderstack_outbox)');
  databaseOptions(outbox.command('status').description("Pending events per environment, and the oldest one's age."))
    .option('--json', 'print the status as JSON', false)
    .addHelpText('after', examples('flagsmith-rudderstack outbox status --database-url postgres://flagsmith@db:5432/flagsmith'))
    .action(async (options: OutboxCommandOptions) => {
      process.exitCode = await outboxStatus(options);
    });
  databaseOptions(outbox.command('migrate').description('Create the outbox table and its indexes if absent (safe to run again).'))
    .addHelpText('after', examples('flagsmith-rudderstack outbox migrate --database-url postgres://flagsmith@db:5432/flagsmith'))
    .action(async (options: OutboxCommandOptions) => {
      process.exitCode = await outboxMigrate(options);
    });

  return program;
}

async function main(argv: string[]): Promise<void> {
  watchOutput();
  const program = buildProgram();
  const debug = (): boolean => program.opts<{ debug: boolean }>().debug;
  // Thrown outside the command's own calls (a stream's error event): fatal, but still one line.
  process.on('uncaughtException', (error) => {
    report(error, debug());
    process.exit(1);
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    report(error, debug());
  }
}

/** What went wrong, on one line that says what to do; with --debug, where it happened too. */
function report(error: unknown, debug: boolean): void {
  if (debug && !(error instanceof CommanderError)) process.stderr.write(`${inspect(error)}\n`);
  // Commander has already printed its message (or the help, whose exit code is 0).
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
  else if (error instanceof UsageError) fail(USAGE_EXIT_CODE, `error: ${error.message}`);
  else if (error instanceof SettingsError) fail(1, ['error: invalid settings:', ...error.errors.map(onCommandLine)].join('\n'));
  else if (error instanceof CommandFailure) fail(1, `error: ${error.message}`);
  else fail(1, `error: ${firstLine(error)} (unexpected: run the same command with --debug to see where it happened, and report it as a bug)`);
}

/** What was thrown, on one line, whatever it is. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0] ?? '';
}

/** validateSettings speaks to a host's code; here the option is a flag. */
function onCommandLine(message: string): string {
  return `  ${message.replace('set allowPrivateNetworks: true', 'pass --allow-private-networks')}`;
}

function fail(exitCode: number, message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = exitCode;
}

void main(process.argv);
