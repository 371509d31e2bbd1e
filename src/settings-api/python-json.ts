/**
 * JSON read as DRF reads it: `json.load` (CPython's C scanner) with DRF's strict constants.
 * JSON.parse accepts exactly what that accepts, so it does the parsing; when it refuses, this
 * finds what CPython would say and where ("Expecting ',' delimiter: line 1 column 9 (char 8)").
 * The message never quotes the input, so a write key in a broken body is not echoed back.
 */

/** The parsed value, or the reason DRF puts after "JSON parse error - ". */
export type ParsedJson = { value: unknown } | { error: string };

export function parseJsonAsPython(text: string): ParsedJson {
  if (text.startsWith('\ufeff')) return { error: decodeError(text, 'Unexpected UTF-8 BOM (decode using utf-8-sig)', 0) };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { error: pythonError(text) };
  }
}

/** The name Python gives the type of a JSON value that is not an object, as DRF reports it. */
export function pythonTypeName(value: unknown, text: string): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  // Python reads a number with a fraction or an exponent as a float, any other as an int.
  return /[.eE]/.test(text) ? 'float' : 'int';
}

/** CPython's JSONDecodeError text: the message, then where, counting code points. */
function decodeError(text: string, message: string, index: number): string {
  const before = [...text.slice(0, index)];
  const position = before.length;
  const lastNewline = before.lastIndexOf('\n');
  const line = before.filter((character) => character === '\n').length + 1;
  return `${message}: line ${line} column ${position - lastNewline} (char ${position})`;
}

/**
 * What CPython raises: a JSONDecodeError at a position (its StopIteration, "no value starts
 * here", becomes "Expecting value" wherever it is raised), or DRF's `strict_constant` ValueError,
 * which has none.
 */
class Failure extends Error {
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

function pythonError(text: string): string {
  try {
    let end = scanValue(text, skipWhitespace(text, 0));
    end = skipWhitespace(text, end);
    if (end !== text.length) return decodeError(text, 'Extra data', end);
  } catch (failure) {
    if (!(failure instanceof Failure)) throw failure;
    return failure.index === undefined ? failure.message : decodeError(text, failure.message, failure.index);
  }
  // JSON.parse refused what CPython accepts: not expected, but never an answer without a reason.
  return decodeError(text, 'Expecting value', 0);
}

function isWhitespace(character: string | undefined): boolean {
  return character === ' ' || character === '\t' || character === '\n' || character === '\r';
}

function skipWhitespace(text: string, index: number): number {
  let i = index;
  while (isWhitespace(text[i])) i++;
  return i;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const CONSTANTS = ['NaN', 'Infinity', '-Infinity'];

/** One value starting at `index`; returns where it ends. */
function scanValue(text: string, index: number): number {
  if (index >= text.length) throw new Failure('Expecting value', index);
  const character = text[index];
  if (character === '"') return scanString(text, index + 1);
  if (character === '{') return scanObject(text, index + 1);
  if (character === '[') return scanArray(text, index + 1);
  for (const literal of ['null', 'true', 'false']) if (text.startsWith(literal, index)) return index + literal.length;
  const constant = CONSTANTS.find((name) => text.startsWith(name, index));
  if (constant) throw new Failure(`Out of range float values are not JSON compliant: '${constant}'`);
  NUMBER.lastIndex = index;
  const number = NUMBER.exec(text);
  if (number) return index + number[0].length;
  throw new Failure('Expecting value', index);
}

function scanObject(text: string, start: number): number {
  let i = skipWhitespace(text, start);
  if (text[i] === '}') return i + 1;
  for (;;) {
    if (text[i] !== '"') throw new Failure('Expecting property name enclosed in double quotes', i);
    i = skipWhitespace(text, scanString(text, i + 1));
    if (text[i] !== ':') throw new Failure("Expecting ':' delimiter", i);
    i = skipWhitespace(text, scanValue(text, skipWhitespace(text, i + 1)));
    if (text[i] === '}') return i + 1;
    if (text[i] !== ',') throw new Failure("Expecting ',' delimiter", i);
    i = skipWhitespace(text, i + 1);
  }
}

function scanArray(text: string, start: number): number {
  let i = skipWhitespace(text, start);
  if (text[i] === ']') return i + 1;
  for (;;) {
    i = skipWhitespace(text, scanValue(text, i));
    if (text[i] === ']') return i + 1;
    if (text[i] !== ',') throw new Failure("Expecting ',' delimiter", i);
    i = skipWhitespace(text, i + 1);
  }
}

const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** A string whose opening quote is at `start - 1`; returns the index after its closing quote. */
function scanString(text: string, start: number): number {
  const begin = start - 1;
  let i = start;
  for (;;) {
    while (i < text.length && text[i] !== '"' && text[i] !== '\\') {
      if (text.charCodeAt(i) <= 0x1f) throw new Failure('Invalid control character at', i);
      i++;
    }
    if (i >= text.length) throw new Failure('Unterminated string starting at', begin);
    if (text[i] === '"') return i + 1;
    i++;
    if (i === text.length) throw new Failure('Unterminated string starting at', begin);
    if (text[i] !== 'u') {
      if (!SIMPLE_ESCAPES.has(text[i])) throw new Failure('Invalid \\escape', i - 1);
      i++;
      continue;
    }
    // CPython checks that four digits and one more character fit before reading them.
    if (i + 5 >= text.length) throw new Failure('Invalid \\uXXXX escape', i);
    if (!HEX4.test(text.slice(i + 1, i + 5))) throw new Failure('Invalid \\uXXXX escape', i);
    i += 5;
  }
}
