/**
 * What the package needs of a PostgreSQL client, and the two things every statement it builds
 * needs: a table name that is safe to put in SQL, and a driver error that is safe to show.
 */

/** What the package needs of a PostgreSQL client; `pg`'s Pool and Client and PGlite all have it. */
export interface SqlClient {
  /** Runs a parameterized statement. */
  query(
    text: string,
    values: unknown[],
  ): Promise<{
    /** The rows it returned. */
    rows: unknown[];
  }>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** A plain SQL identifier: a letter or underscore, then up to 62 letters, digits, underscores or dollar signs. */
export function isSqlIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** Validates `table` or `schema.table` as plain SQL identifiers and double-quotes each part. */
export function quoteTableName(name: string, option: string): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every(isSqlIdentifier)) {
    throw new TypeError(
      `${option} must be "table" or "schema.table", each part a letter or underscore then up to 62 ` + 'letters, digits, underscores or dollar signs',
    );
  }
  return parts.map((part) => `"${part}"`).join('.');
}

/** A driver error, read safely. */
export interface DriverError {
  /** The driver's message with every value of the statement cut out. */
  detail: string;
  /** The SQLSTATE, when the driver gave one. */
  code: string | undefined;
}

/**
 * The driver's message, with every value this statement was given cut out: some driver
 * messages quote the input they refused, and the values include write keys.
 */
export function driverError(error: unknown, values: readonly unknown[]): DriverError {
  // Read by shape, not instanceof: errors from Node's own sockets may come from another realm.
  const { message, code } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown };
  let detail = typeof message === 'string' && message !== '' ? message : typeof code === 'string' ? code : 'the client rejected the query';
  for (const value of values) {
    const text = value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8') : value;
    if (typeof text === 'string' && text !== '') detail = detail.split(text).join('(value not shown)');
  }
  return { detail, code: typeof code === 'string' ? code : undefined };
}
