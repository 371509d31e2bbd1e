/**
 * The data plane's rule for an identifier that is no identifier.
 *
 * rudder-server's gateway refuses a whole request when one of its events has neither a userId nor an
 * anonymousId, and it decides that after cleaning each id: rudder-go-kit's `sanitize.Unicode` removes
 * every character Go's `unicode.IsPrint` rejects and a fixed list of characters that show as nothing,
 * then `strings.TrimSpace` trims. An id with nothing left counts as missing. The gateway stores the
 * event with the id as it was sent; the cleaning only decides whether there is one.
 */
import { UNKNOWN_TO_GO } from './unicode-after-go';

/**
 * rudder-go-kit's list (sanitize.invisibleRunes), in its order: characters that show as nothing,
 * whether or not `unicode.IsPrint` accepts them.
 */
const INVISIBLE = [
  '\u0000',
  '\u0009',
  '\u00a0',
  '\u00ad',
  '\u034f',
  '\u061c',
  '\u115f',
  '\u1160',
  '\u17b4',
  '\u17b5',
  '\u180e',
  '\u2000',
  '\u2001',
  '\u2002',
  '\u2003',
  '\u2004',
  '\u2005',
  '\u2006',
  '\u2007',
  '\u2008',
  '\u2009',
  '\u200a',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202f',
  '\u205f',
  '\u2060',
  '\u2061',
  '\u2062',
  '\u2063',
  '\u2064',
  '\u206a',
  '\u206b',
  '\u206c',
  '\u206d',
  '\u206e',
  '\u206f',
  '\u3000',
  '\u2800',
  '\u3164',
  '\ufeff',
  '\uffa0',
].join('');

/**
 * One character that survives the gateway's cleaning and trimming. `unicode.IsPrint` accepts the
 * letters, marks, numbers, punctuation and symbols (L, M, N, P, S) and the ASCII space, which the
 * trim then removes wherever nothing else is left; it knows them by Go's tables, older than
 * Node's, so characters only Node knows are not among them. A lone surrogate counts as printable:
 * it cannot travel as UTF-8, so the gateway's JSON decoder reads it as U+FFFD, a symbol.
 */
const VISIBLE = new RegExp(`(?![${INVISIBLE}${UNKNOWN_TO_GO}])[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{Cs}]`, 'u');

/** True when the gateway would find no id in `id`, and so refuse the whole request holding it. */
export function isEmptyToGateway(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    // Printable ASCII other than the space survives: most identifiers end the check at their first character.
    if (code > 0x20 && code < 0x7f) return false;
    // Only ASCII space and controls so far, none of them visible: the whole string decides.
    if (code >= 0x80) return !VISIBLE.test(id);
  }
  return true;
}
