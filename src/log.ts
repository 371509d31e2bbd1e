import { monotonicMs } from './timers';
import type { Logger } from './types';

const PREFIX = '[flagsmith-rudderstack]';

/** Warnings and errors go to the console; debug and info stay quiet unless the host passes a logger. */
export const consoleLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => console.warn(PREFIX, ...args),
  error: (...args: unknown[]) => console.error(PREFIX, ...args),
};

/** The host's logger, made safe to call: one that throws must not break delivery or the hook. */
export function guardLogger(logger: Logger): Logger {
  const guard =
    (level: keyof Logger) =>
    (...args: unknown[]): void => {
      try {
        logger[level](...args);
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

  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(
    logger: Logger,
    intervalMs: number,
    now: () => number = monotonicMs,
  ) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  warn(key: string, message: string): void {
    this.#say('warn', key, message);
  }

  error(key: string, message: string): void {
    this.#say('error', key, message);
  }

  #say(level: 'warn' | 'error', key: string, message: string): void {
    const now = this.#now();
    const last = this.#lastSaid.get(key);
    if (last && now - last.at < this.#intervalMs) {
      last.suppressed++;
      return;
    }
    const held = last && last.suppressed > 0 ? ` (${last.suppressed} similar messages suppressed)` : '';
    this.#lastSaid.set(key, { at: now, suppressed: 0 });
    this.#logger[level](message + held);
  }
}
