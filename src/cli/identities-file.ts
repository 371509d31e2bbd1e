/** Reading the identities a backfill sends: NDJSON of {identifier, traits} or CSV with an identifier column. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parse } from 'csv-parse';
import type { FlagValue } from '../host/flagsmith-response';

export type IdentitiesFormat = 'ndjson' | 'csv';

export interface IdentityRecord {
  identifier: string;
  traits: Record<string, FlagValue>;
}

/** One record of the file: an identity, or why that record is not one. */
export type ReadRecord = { identity: IdentityRecord } | { problem: string };

/** By extension; otherwise NDJSON when the first character that is not white space is `{`. */
export async function detectFormat(file: string): Promise<IdentitiesFormat> {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  const handle = await fs.promises.open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('{') ? 'ndjson' : 'csv';
  } finally {
    await handle.close();
  }
}

/** Records in the file, counted by line breaks without parsing (a CSV's header line is not one). */
export async function countRecords(file: string, format: IdentitiesFormat): Promise<number> {
  let lines = 0;
  let lastByte = 0x0a;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++;
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1];
  }
  if (lastByte !== 0x0a) lines++;
  return Math.max(0, format === 'csv' ? lines - 1 : lines);
}

/** Streams the records; the file is read as they are consumed, so memory stays bounded. */
export function readIdentities(file: string, format: IdentitiesFormat): AsyncIterable<ReadRecord> {
  return format === 'csv' ? readCsv(file) : readNdjson(file);
}

async function* readNdjson(file: string): AsyncIterable<ReadRecord> {
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      yield { problem: `line ${lineNumber}: not JSON` };
      continue;
    }
    yield identityFrom(parsed, `line ${lineNumber}`);
  }
}

async function* readCsv(file: string): AsyncIterable<ReadRecord> {
  const parser = fs.createReadStream(file).pipe(parse({ columns: true, skip_empty_lines: true, trim: true, bom: true }));
  let row = 0;
  for await (const columns of parser as AsyncIterable<Record<string, string>>) {
    row++;
    const { identifier, ...cells } = columns;
    const traits: Record<string, FlagValue> = {};
    for (const [key, cell] of Object.entries(cells)) {
      // An empty cell is a trait the identity does not have.
      if (cell !== '') traits[key] = csvValue(cell);
    }
    yield identityFrom({ identifier, traits }, `row ${row}`);
  }
}

/** CSV holds only text; Flagsmith traits are typed, so numbers and booleans are read as such. */
function csvValue(cell: string): FlagValue {
  if (cell === 'true' || cell === 'false') return cell === 'true';
  // Only plain decimals: "007" or "1e3" stay text (a zip code must not lose its zeros).
  return /^-?(0|[1-9]\d*)(\.\d+)?$/.test(cell) ? Number(cell) : cell;
}

function identityFrom(value: unknown, where: string): ReadRecord {
  if (typeof value !== 'object' || value === null) return { problem: `${where}: not an object` };
  const { identifier, traits = {} } = value as Record<string, unknown>;
  if (typeof identifier !== 'string' || identifier.trim() === '') return { problem: `${where}: no identifier` };
  if (typeof traits !== 'object' || traits === null || Array.isArray(traits)) {
    return { problem: `${where}: traits must be an object of trait values` };
  }
  return { identity: { identifier, traits: traits as Record<string, FlagValue> } };
}
