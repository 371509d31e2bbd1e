import fc from 'fast-check';
import { JsonWriter } from '../../src/delivery/json-writer';

/** What the writer writes for one value, as text. */
function written(write: (writer: JsonWriter) => void, writer = new JsonWriter()): string {
  writer.reset();
  write(writer);
  return writer.take().toString('utf8');
}

describe('JsonWriter', () => {
  it.each([
    ['plain ASCII', 'checkout_v2'],
    ['empty', ''],
    ['quotes and backslashes', 'with "quotes" and \\ backslash'],
    ['control characters', 'line\nbreak\ttab\u0000nul\u001f\u007f'],
    ['Latin-1', 'beta_ünicode'],
    ['other planes', 'ünïcödé ✓ 😀'],
    ['line separators', '\u2028\u2029'],
    ['lone surrogates', 'a\ud800b\udc00'],
  ])('writes a string with %s as JSON.stringify does', (_label, text) => {
    expect(written((writer) => writer.string(text))).toBe(JSON.stringify(text));
  });

  it.each([
    0,
    -0,
    7,
    -7,
    2147483647,
    -2147483648,
    2147483648,
    -2147483649,
    1e21,
    1e-7,
    0.1,
    -123.456,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_VALUE,
    Number.MAX_VALUE,
    NaN,
    Infinity,
    -Infinity,
  ])('writes the number %p as JSON.stringify does', (value) => {
    expect(written((writer) => writer.number(value))).toBe(JSON.stringify(value));
  });

  it('writes booleans', () => {
    expect(written((writer) => writer.value(true))).toBe('true');
    expect(written((writer) => writer.value(false))).toBe('false');
  });

  it('writes any string, number or boolean as JSON.stringify does', () => {
    const writer = new JsonWriter();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.boolean()), (value) => {
        expect(written((w) => w.value(value), writer)).toBe(JSON.stringify(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('repeats bytes already written', () => {
    expect(
      written((writer) => {
        writer.raw('[');
        const start = writer.length;
        writer.string('é"');
        const end = writer.length;
        writer.raw(',');
        writer.repeat(start, end);
        writer.raw(']');
      }),
    ).toBe('["é\\"","é\\""]');
  });

  it('grows past its first buffer, and hands out copies that later writes leave alone', () => {
    const writer = new JsonWriter();
    const long = 'x'.repeat(100_000) + 'ü';
    const first = written((w) => w.string(long), writer);
    const kept = (() => {
      writer.reset();
      writer.string('kept');
      return writer.take();
    })();
    written((w) => w.string('overwrites the same bytes'), writer);
    expect(first).toBe(JSON.stringify(long));
    expect(kept.toString()).toBe('"kept"');
  });
});
