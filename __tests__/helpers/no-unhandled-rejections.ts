// Any promise rejection left unhandled, and any exception left uncaught, while a test file runs
// fails that file: the library promises that none ever escapes.
//
// Two traps, both checked by hand:
// - Inside a test file `process` is Jest's sandbox copy, a separate EventEmitter: Node emits
//   `unhandledRejection` and `uncaughtException*` on the real process only, so listeners on the
//   sandbox copy never run. The real process is reached through a function of Node's own realm
//   (util.inspect's Function constructor evaluates in the outer global scope).
// - Jest (circus) handles `uncaughtException` itself while tests run, and pins the exception on
//   whichever test is running, which for a timer or socket callback that outlived its test is
//   the wrong one. `uncaughtExceptionMonitor` fires for every uncaught exception before any
//   handler, whoever handles it, and changes nothing about how it is handled: it is recorded
//   here and fails the file in `afterAll`, with the exception itself in the report.
import { inspect } from 'node:util';

const realProcess = (inspect.constructor as FunctionConstructor)('return process')() as NodeJS.Process;

const unhandled: unknown[] = [];
const uncaught: unknown[] = [];
const recordRejection = (reason: unknown): void => {
  unhandled.push(reason);
};
const recordException = (error: unknown): void => {
  uncaught.push(error);
};

beforeAll(() => {
  realProcess.on('unhandledRejection', recordRejection);
  realProcess.on('uncaughtExceptionMonitor', recordException);
});

afterAll(async () => {
  // Let rejections and exceptions from the last test's settled promises and timers surface before judging.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 0));
  realProcess.off('unhandledRejection', recordRejection);
  realProcess.off('uncaughtExceptionMonitor', recordException);
  const describe = (value: unknown): string => (value instanceof Error ? (value.stack ?? value.message) : inspect(value));
  expect({ unhandledRejections: unhandled.map(describe), uncaughtExceptions: uncaught.map(describe) }).toEqual({
    unhandledRejections: [],
    uncaughtExceptions: [],
  });
});
