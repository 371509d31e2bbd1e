import type { TraitValue } from '../mapping/traits';

const INITIAL_BYTES = 16 * 1024;
/** A writer grown past this by one huge event gives the memory back after it. */
const KEEP_AT_MOST_BYTES = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Writes JSON text straight into UTF-8 bytes, for the few value kinds an event holds: strings,
 * finite numbers, booleans. Writes exactly what `JSON.stringify` writes for each.
 *
 * Why not `JSON.stringify` and then encode: an event's traits are an object with one key per
 * feature, which V8 stringifies on its slow dictionary path and then has to measure and transcode.
 * Printable ASCII is written byte by byte, and anything else handed to `JSON.stringify` (see
 * BENCHMARKS.md for what it saved). One writer is reused for every event; `take()` copies the
 * event out.
 */
export class JsonWriter {
  #bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  /** Bytes written since `reset()`. */
  length = 0;

  reset(): void {
    this.length = 0;
  }

  /** ASCII text that is JSON already: punctuation, and number and boolean literals. */
  raw(text: string): void {
    this.#reserve(text.length);
    const bytes = this.#bytes;
    let at = this.length;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Bytes encoded earlier, copied in. */
  encodedBytes(chunk: Uint8Array): void {
    const count = chunk.length;
    this.#reserve(count);
    const bytes = this.#bytes;
    let at = this.length;
    for (let i = 0; i < count; i++) bytes[at++] = chunk[i];
    this.length = at;
  }

  string(text: string): void {
    const count = text.length;
    this.#reserve(count + 2);
    const bytes = this.#bytes;
    const start = this.length;
    let at = start;
    bytes[at++] = QUOTE;
    for (let i = 0; i < count; i++) {
      const code = text.charCodeAt(i);
      // Printable ASCII other than quote and backslash is written as is; anything else needs
      // escaping or multi-byte UTF-8, which JSON.stringify and Buffer#write do for the whole string.
      if (code < 0x20 || code > 0x7e || code === QUOTE || code === BACKSLASH) {
        this.length = start;
        return this.#encoded(JSON.stringify(text));
      }
      bytes[at++] = code;
    }
    bytes[at++] = QUOTE;
    this.length = at;
  }

  number(value: number): void {
    if ((value | 0) === value) return this.#integer(value);
    // JSON.stringify writes null for what JSON cannot hold; String() agrees for every finite number.
    this.raw(Number.isFinite(value) ? String(value) : 'null');
  }

  value(value: TraitValue): void {
    if (typeof value === 'string') this.string(value);
    else if (typeof value === 'number') this.number(value);
    else this.raw(value ? 'true' : 'false');
  }

  /** Writes again the bytes written at [start, end): a second copy of a part already encoded. */
  repeat(start: number, end: number): void {
    this.#reserve(end - start);
    this.length += this.#bytes.copy(this.#bytes, this.length, start, end);
  }

  /** The bytes written since `reset()`, in a Buffer of their own. */
  take(): Buffer {
    const taken = Buffer.allocUnsafe(this.length);
    this.#bytes.copy(taken, 0, 0, this.length);
    if (this.#bytes.length > KEEP_AT_MOST_BYTES) this.#bytes = Buffer.allocUnsafe(INITIAL_BYTES);
    return taken;
  }

  /** A 32-bit integer, digit by digit: no string is made for it. */
  #integer(value: number): void {
    this.#reserve(11);
    const bytes = this.#bytes;
    let at = this.length;
    if (value < 0) bytes[at++] = 0x2d;
    // As an unsigned 32-bit integer even for -2^31, so the arithmetic stays in integers.
    let rest = (value < 0 ? -value : value) >>> 0;
    let digits = 1;
    for (let scale = 10; scale <= rest; scale *= 10) digits++;
    at += digits;
    this.length = at;
    do {
      const next = (rest / 10) >>> 0;
      bytes[--at] = 0x30 + rest - next * 10;
      rest = next;
    } while (rest > 0);
  }

  #encoded(json: string): void {
    // A UTF-16 code unit never takes more than 3 bytes of UTF-8.
    this.#reserve(json.length * 3);
    this.length += this.#bytes.write(json, this.length, 'utf8');
  }

  #reserve(count: number): void {
    if (this.length + count <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.length + count));
    this.#bytes.copy(grown, 0, 0, this.length);
    this.#bytes = grown;
  }
}
