/**
 * decodeUtf8AsPython against what CPython 3.11's incremental UTF-8 reader (codecs.getreader, as
 * DRF reads a body) says for the same bytes; the table was made by running CPython on each.
 */
import { decodeUtf8AsPython } from '../../src/settings-api/python-utf8';

/** [bytes, CPython's text or message]. */
const CPYTHON: Array<[number[], { text: string } | { error: string }]> = [
  [[0xff], { error: "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte" }],
  [
    [0x7b, 0x22, 0x61, 0x70, 0x69, 0x5f, 0x6b, 0x65, 0x79, 0x22, 0x3a, 0x20, 0x22, 0xc0, 0xaf, 0x22, 0x7d],
    { error: "'utf-8' codec can't decode byte 0xc0 in position 13: invalid start byte" },
  ],
  [[0x61, 0x62, 0xe2, 0x82, 0x78], { error: "'utf-8' codec can't decode bytes in position 2-3: invalid continuation byte" }],
  [[0x61, 0x62, 0xe2, 0x78], { error: "'utf-8' codec can't decode byte 0xe2 in position 2: invalid continuation byte" }],
  [[0xed, 0xa0, 0x80], { error: "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte" }],
  [[0xf4, 0x90, 0x80, 0x80], { error: "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte" }],
  [[0xe0, 0x80, 0x80], { error: "'utf-8' codec can't decode byte 0xe0 in position 0: invalid continuation byte" }],
  [[0xf0, 0x9f, 0x98, 0x78], { error: "'utf-8' codec can't decode bytes in position 0-2: invalid continuation byte" }],
  [[0x80], { error: "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte" }],
  [[0x7b, 0x7d, 0xf0, 0x9f, 0x98], { text: '{}' }],
  [[0x7b, 0x7d, 0xed, 0xa0], { text: '{}' }],
  [[0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x20, 0x22, 0xc3, 0xa9, 0x22, 0x7d], { text: '{"k": "\u00e9"}' }],
];

describe('decodeUtf8AsPython', () => {
  it.each(CPYTHON)('%j: as CPython says', (bytes, expected) => {
    expect(decodeUtf8AsPython(Uint8Array.from(bytes))).toEqual(expected);
  });

  it('keeps a byte order mark, which the JSON parser then refuses as CPython does', () => {
    expect(decodeUtf8AsPython(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({ text: '\ufeff{}' });
  });
});
