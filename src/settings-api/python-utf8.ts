/**
 * A request body decoded as DRF decodes it: through Python's incremental UTF-8 reader
 * (`codecs.getreader('utf-8')`), which reports the first invalid sequence in CPython's words
 * and, being incremental, silently leaves out a sequence cut short at the very end.
 */

/** The text, or Python's `UnicodeDecodeError` message for the first invalid sequence. */
export type DecodedBody = { text: string } | { error: string };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8AsPython(bytes: Uint8Array): DecodedBody {
  try {
    return { text: decoder.decode(bytes) };
  } catch {
    // Invalid somewhere: find where, as CPython does, below.
  }
  const invalid = firstInvalidSequence(bytes);
  if (invalid.reason === undefined) return { text: decoder.decode(bytes.subarray(0, invalid.start)) };
  const { start, length, reason } = invalid;
  const where = length === 1 ? `byte 0x${bytes[start].toString(16).padStart(2, '0')} in position ${start}` : `bytes in position ${start}-${start + length - 1}`;
  return { error: `'utf-8' codec can't decode ${where}: ${reason}` };
}

/** Where CPython's decoder stops: an error (start, length, reason), or a truncated last sequence (no reason). */
interface Invalid {
  start: number;
  length: number;
  reason?: 'invalid start byte' | 'invalid continuation byte';
}

function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x80 && byte <= 0xbf;
}

/** The range the second byte of a sequence must fall in (CPython's, which refuses overlongs and surrogates). */
function secondByteRange(lead: number): [number, number] {
  if (lead === 0xe0) return [0xa0, 0xbf];
  if (lead === 0xed) return [0x80, 0x9f];
  if (lead === 0xf0) return [0x90, 0xbf];
  if (lead === 0xf4) return [0x80, 0x8f];
  return [0x80, 0xbf];
}

/** Only called on bytes that do not decode, so it always finds something. */
function firstInvalidSequence(bytes: Uint8Array): Invalid {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    const size = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (size === 0) return { start: i, length: 1, reason: 'invalid start byte' };
    const [low, high] = secondByteRange(lead);
    for (let k = 1; k < size; k++) {
      const byte = bytes[i + k];
      if (byte === undefined) return { start: i, length: bytes.length - i };
      const valid = k === 1 ? byte >= low && byte <= high : isContinuation(byte);
      // CPython's one exception: ED A0..BF as the last two bytes waits for more, as if cut short.
      if (!valid && lead === 0xed && k === 1 && i + 2 === bytes.length && isContinuation(byte)) return { start: i, length: 2 };
      // CPython counts the valid bytes before the bad one into the range it reports.
      if (!valid) return { start: i, length: k, reason: 'invalid continuation byte' };
    }
    i += size;
  }
  return { start: bytes.length, length: 0 };
}
