import { monotonicMs } from './timers';
import type { LogFields, Logger } from './types';

/** The logger as the package calls it: a message, and what it is about. */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const PREFIX = '[flagsmith-rudderstack]';

/** Warnings and errors go to the console; debug and info stay quiet unless the host passes a logger. */
export const consoleLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => console.warn(PREFIX, ...args),
  error: (...args: unknown[]) => console.error(PREFIX, ...args),
};

/**
 * The host's logger, made safe to call: one that throws must not break delivery or the hook.
 * `structured` passes the fields first, as pino and bunyan take them; otherwise the message alone
 * (the fields say again what the message says in words).
 */
export function guardLogger(logger: Logger, structured = false): Log {
  const guard =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      try {
        if (structured) logger[level](fields ?? {}, message);
        else logger[level](message);
      } catch {
        // Nothing sensible to do with a failing logger.
      }
    };
  return { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') };
}

/**
 * Says a thing at most once per interval per key, so a failing data plane or a flood of bad
 * input cannot flood the host's logs. Counts what it held back and reports it with the next line.
 */
export class RateLimitedLog {
  readonly #lastSaid = new Map<string, { at: number; suppressed: number }>();

  readonly #logger: Log;
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(logger: Log, intervalMs: number, now: () => number = monotonicMs) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  warn(key: string, message: string, fields?: LogFields): void {
    this.#say('warn', key, message, fields);
  }

  error(key: string, message: string, fields?: LogFields): void {
    this.#say('error', key, message, fields);
  }

  #say(level: 'warn' | 'error', key: string, message: string, fields: LogFields | undefined): void {
    const now = this.#now();
    const last = this.#lastSaid.get(key);
    if (last && now - last.at < this.#intervalMs) {
      last.suppressed++;
      return;
    }
    const held = last && last.suppressed > 0 ? ` (${last.suppressed} similar messages suppressed)` : '';
    this.#lastSaid.set(key, { at: now, suppressed: 0 });
    this.#logger[level](message + held, fields);
  }
}
