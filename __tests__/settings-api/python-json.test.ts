/**
 * parseJsonAsPython against what CPython 3.11's json.loads (with DRF's strict constants) says for
 * the same text. The table was made by running CPython on each input; it is checked in so the
 * suite needs no Python.
 */
import { parseJsonAsPython, pythonTypeName } from '../../src/settings-api/python-json';

/** [input, CPython's message, or null when it parses]. */
const CPYTHON: Array<[string, string | null]> = [
  ['', 'Expecting value: line 1 column 1 (char 0)'],
  ['   ', 'Expecting value: line 1 column 4 (char 3)'],
  ['{', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
  ['[', 'Expecting value: line 1 column 2 (char 1)'],
  ['{"api_key"', "Expecting ':' delimiter: line 1 column 11 (char 10)"],
  ['{"api_key":', 'Expecting value: line 1 column 12 (char 11)'],
  ['{"api_key": "x"', "Expecting ',' delimiter: line 1 column 16 (char 15)"],
  ['{"api_key": "x",', 'Expecting property name enclosed in double quotes: line 1 column 17 (char 16)'],
  ['{"api_key": "x",}', 'Expecting property name enclosed in double quotes: line 1 column 17 (char 16)'],
  ['[1,]', 'Expecting value: line 1 column 4 (char 3)'],
  ['[1 2]', "Expecting ',' delimiter: line 1 column 4 (char 3)"],
  ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
  ["{'api_key': 'x'}", 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
  ['{api_key: "x"}', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
  ['nul', 'Expecting value: line 1 column 1 (char 0)'],
  ['01', 'Extra data: line 1 column 2 (char 1)'],
  ['1.', 'Extra data: line 1 column 2 (char 1)'],
  ['-', 'Expecting value: line 1 column 1 (char 0)'],
  ['1e5x', 'Extra data: line 1 column 4 (char 3)'],
  ['"abc', 'Unterminated string starting at: line 1 column 1 (char 0)'],
  ['"a\\qb"', 'Invalid \\escape: line 1 column 3 (char 2)'],
  ['"\\u12"', 'Invalid \\uXXXX escape: line 1 column 3 (char 2)'],
  ['"\\u12zz"', 'Invalid \\uXXXX escape: line 1 column 3 (char 2)'],
  ['"\\ud83d\\u12zz"', 'Invalid \\uXXXX escape: line 1 column 9 (char 8)'],
  ['"a\u0001b"', 'Invalid control character at: line 1 column 3 (char 2)'],
  ['"\\u0041', 'Invalid \\uXXXX escape: line 1 column 3 (char 2)'],
  ['NaN', "Out of range float values are not JSON compliant: 'NaN'"],
  ['[Infinity]', "Out of range float values are not JSON compliant: 'Infinity'"],
  ['{"a": -Infinity}', "Out of range float values are not JSON compliant: '-Infinity'"],
  ['\ufeff{}', 'Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)'],
  ['{}\n{}', 'Extra data: line 2 column 1 (char 3)'],
  ['{\n  "a": 1\n  "b": 2\n}', "Expecting ',' delimiter: line 3 column 3 (char 13)"],
  ['["\u00e9", x]', 'Expecting value: line 1 column 7 (char 6)'],
  ['{"k": "\ud83d\ude00" x}', "Expecting ',' delimiter: line 1 column 11 (char 10)"],
  ['"\\', 'Unterminated string starting at: line 1 column 1 (char 0)'],
  ['{"a":1}}', 'Extra data: line 1 column 8 (char 7)'],
  ['  [1]  x', 'Extra data: line 1 column 8 (char 7)'],
  ['[.5]', 'Expecting value: line 1 column 2 (char 1)'],
  ['[+1]', 'Expecting value: line 1 column 2 (char 1)'],
];

describe('parseJsonAsPython', () => {
  it.each(CPYTHON)('%j: as CPython says', (input, expected) => {
    const parsed = parseJsonAsPython(input);
    expect('error' in parsed ? parsed.error : null).toBe(expected);
  });

  it('parses what CPython parses, with the last of duplicated keys, and __proto__ as an own key', () => {
    expect(parseJsonAsPython('{"a": 1, "a": 2}')).toEqual({ value: { a: 2 } });
    const parsed = parseJsonAsPython('{"__proto__": {"x": 1}}') as { value: Record<string, unknown> };
    expect(Object.hasOwn(parsed.value, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
  });

  it('never quotes the input in a message', () => {
    const parsed = parseJsonAsPython('{"api_key": wk_secret_0123456789}');
    expect(parsed).toEqual({ error: 'Expecting value: line 1 column 13 (char 12)' });
  });
});

describe('pythonTypeName', () => {
  it.each([
    ['[]', 'list'],
    ['"x"', 'str'],
    ['1', 'int'],
    ['-0', 'int'],
    ['1.0', 'float'],
    ['1E2', 'float'],
    ['false', 'bool'],
    ['null', 'NoneType'],
  ])('%s is a %s', (text, type) => {
    expect(pythonTypeName(JSON.parse(text), text)).toBe(type);
  });
});
