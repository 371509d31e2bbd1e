import { inspect } from 'node:util';
import type { Logger } from '../types';

/** One logger call as `captureLogger` recorded it. */
export interface CapturedLine {
  /** The method called. */
  level: keyof Logger;
  /** Its arguments as text: strings as they are, anything else as `util.inspect` shows it. */
  text: string;
}

/** A logger that records every call, for assertions on what a host would see in its logs. */
export interface CapturedLogger extends Logger {
  /** Every call, in order. */
  readonly lines: CapturedLine[];
  /** Every call's text, one a line. */
  text(): string;
  /** The texts of the `warn` and `error` calls. */
  warnings(): string[];
}

/**
 * A logger for tests: pass it as the integration's `logger`, then read what was said. Objects and
 * errors are rendered in full (depth 10), so a test can check that no secret hides in them.
 */
export function captureLogger(): CapturedLogger {
  const lines: CapturedLine[] = [];
  const record =
    (level: keyof Logger) =>
    (...args: unknown[]): void => {
      lines.push({ level, text: args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 10 }))).join(' ') });
    };
  return {
    lines,
    text: () => lines.map((line) => line.text).join('\n'),
    warnings: () => lines.filter((line) => line.level === 'warn' || line.level === 'error').map((line) => line.text),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}
