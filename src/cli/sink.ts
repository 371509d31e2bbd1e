import * as fs from 'node:fs';
import { startMetricsServer } from '../host/metrics-server';
import { startLocalDataPlane } from '../testing/local-data-plane';
import { describeBatch } from './describe-batch';
import { requirePromClient } from './flagsmith-nodejs';
import { sinkMetrics } from './sink-metrics';
import { whenStdoutGone } from './output';
import { CommandFailure, UsageError } from './usage';

export const SINK_WRITE_KEYS_ENV = 'SINK_WRITE_KEYS';

export interface SinkOptions {
  port: number;
  writeKeysFile?: string;
  out?: string;
  failRate?: number;
  status?: number;
  metricsPort?: number;
}

/** Runs until SIGINT or SIGTERM, or until the reader of its output goes away; resolves with the exit code. */
export async function sink(options: SinkOptions): Promise<number> {
  const writeKeys = sinkWriteKeys(options.writeKeysFile);
  if (options.metricsPort !== undefined) requirePromClient('sink');
  const metrics = options.metricsPort === undefined ? undefined : sinkMetrics();
  const out = options.out === undefined ? null : fs.createWriteStream(options.out, { fd: openOut(options.out) });
  let events = 0;
  let refused = 0;
  const dataPlane = await listening('--port', options.port, (port) =>
    startLocalDataPlane({
      writeKeys: writeKeys ?? undefined,
      ...(options.failRate !== undefined || options.status !== undefined
        ? { randomFailures: { rate: options.failRate ?? 1, status: options.status ?? 503 } }
        : {}),
      onBatch: (batch) => {
        events += batch.events.length;
        metrics?.accepted(batch.events.length);
        if (!out) return void process.stdout.write(`${describeBatch(batch)}\n`);
        for (const event of batch.events) out.write(`${JSON.stringify(event)}\n`);
        process.stdout.write(`${batch.receivedAt.toISOString()}  POST ${batch.path}  ${batch.events.length} event(s) written to ${options.out}\n`);
      },
      onRequest: (request) => {
        metrics?.settled(request);
        if (request.status !== 200) {
          refused++;
          process.stdout.write(`${new Date().toISOString()}  ${request.method} ${request.path}  answered ${request.status ?? request.outcome}\n`);
        }
        // What arrived is printed or written; holding it too would grow without end.
        dataPlane.reset();
      },
      port,
    }),
  );
  const metricsServer = metrics ? await listening('--metrics-port', options.metricsPort ?? 0, (port) => startMetricsServer(metrics.registry, port)) : undefined;
  process.stdout.write(`${dataPlane.url}\n`);
  process.stderr.write(
    `Local RudderStack data plane: use ${dataPlane.url} as the data plane URL. ` +
      `${writeKeys ? `${writeKeys.length} write key(s) accepted` : 'Any write key is accepted'}. Ctrl-C stops it.\n`,
  );
  if (metricsServer) process.stderr.write(`Metrics of what it receives: ${metricsServer.url}\n`);

  const stop = await new Promise<NodeJS.Signals | 'output closed'>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    whenStdoutGone(() => resolve('output closed'));
  });
  await Promise.all([dataPlane.close(), metricsServer?.close()]);
  if (out) await new Promise((resolve) => out.end(resolve));
  process.stderr.write(`Stopped (${stop}): ${events} event(s) received, ${refused} request(s) refused.\n`);
  return 0;
}

/** Opened at once, so that a path that cannot be written is one line, before anything listens. */
function openOut(file: string): number {
  try {
    return fs.openSync(file, 'w');
  } catch (error) {
    throw new UsageError(`cannot write --out ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** A server on its port, or a line that says what to choose instead. */
async function listening<T>(flag: '--port' | '--metrics-port', port: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
    throw new CommandFailure(
      `cannot listen on port ${port} (${code === 'EADDRINUSE' ? 'in use' : 'not allowed'}): pass ${flag} with another port, or ${flag} 0 for any free one`,
    );
  }
}

/** From a file (one key a line) or the environment (comma-separated), like the check command's key: never a bare argument. */
function sinkWriteKeys(file: string | undefined): string[] | null {
  let text: string | undefined;
  if (file !== undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --write-keys-file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  } else {
    text = process.env[SINK_WRITE_KEYS_ENV]?.replace(/,/g, '\n');
  }
  const keys = (text ?? '')
    .split(/\r?\n/)
    .map((key) => key.trim())
    .filter((key) => key !== '');
  return keys.length > 0 ? keys : null;
}
