import * as fs from 'node:fs';

/** A bad argument: main prints its message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command that cannot do its work: main prints the message on one line and exits 1. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

export const WRITE_KEY_ENV = 'RUDDERSTACK_WRITE_KEY';
export const DATA_PLANE_URL_ENV = 'RUDDERSTACK_DATA_PLANE_URL';

/**
 * The write key from `--write-key-file` or the environment, never from a bare argument, which
 * would show in `ps` and shell history. Trailing line breaks of the file are not part of it.
 */
export function readWriteKey(writeKeyFile: string | undefined): string {
  if (writeKeyFile !== undefined) {
    try {
      return fs.readFileSync(writeKeyFile, 'utf8').replace(/[\r\n]+$/, '');
    } catch (error) {
      throw new UsageError(`cannot read --write-key-file ${writeKeyFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  const fromEnv = process.env[WRITE_KEY_ENV];
  if (fromEnv === undefined || fromEnv === '') {
    throw new UsageError(`no write key: set ${WRITE_KEY_ENV} or pass --write-key-file FILE`);
  }
  return fromEnv;
}

/** A file the command can read, or a usage error that says which option names what instead. */
export function requireFile(path: string, option: string): void {
  if (!fs.existsSync(path)) throw new UsageError(`${option}: no such file: ${path}`);
  if (!fs.statSync(path).isFile()) throw new UsageError(`${option}: not a file: ${path}`);
  try {
    fs.accessSync(path, fs.constants.R_OK);
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
