'use strict';
// Writes src/mapping/unicode-after-go.ts: the code points this Node's regular expressions hold to
// be letters, marks, numbers, punctuation or symbols but the Unicode version of Go's unicode
// tables (what rudder-server's gateway is built with) does not, so the gateway strips them.
//
// Run it on the newest Node, with that Unicode version's UnicodeData.txt (Debian's unicode-data
// package for 15.0.0 puts it in /usr/share/unicode):
//   node scripts/unicode-after-go.js [/usr/share/unicode]
// and run it again when rudder-server moves to a Go with newer tables, or Node to a newer Unicode.
const fs = require('node:fs');
const path = require('node:path');

const GO_UNICODE = '15.0.0';
const dir = process.argv[2] ?? '/usr/share/unicode';

const age = fs.readFileSync(path.join(dir, 'DerivedAge.txt'), 'utf8');
if (!age.startsWith(`# DerivedAge-${GO_UNICODE}.txt`)) throw new Error(`${dir} does not hold Unicode ${GO_UNICODE}`);

/** Whether each code point is printable to Go (categories L, M, N, P, S), from UnicodeData.txt. */
const printableToGo = new Uint8Array(0x110000);
let rangeStart = -1;
for (const line of fs.readFileSync(path.join(dir, 'UnicodeData.txt'), 'utf8').split('\n')) {
  if (line === '') continue;
  const [hex, name, category] = line.split(';');
  const code = parseInt(hex, 16);
  if (name.endsWith(', First>')) {
    rangeStart = code;
    continue;
  }
  const from = name.endsWith(', Last>') ? rangeStart : code;
  if (/^[LMNPS]/.test(category)) printableToGo.fill(1, from, code + 1);
}

const printableToNode = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const ranges = [];
for (let code = 0; code < 0x110000; code++) {
  if (code >= 0xd800 && code <= 0xdfff) continue;
  const printable = printableToNode.test(String.fromCodePoint(code));
  // The other way round, the hook would drop an id the gateway takes: say so rather than hide it.
  if (!printable && printableToGo[code]) throw new Error(`U+${code.toString(16)} is printable to Go, not to this Node`);
  if (!printable || printableToGo[code]) continue;
  const last = ranges[ranges.length - 1];
  if (last && last[1] === code - 1) last[1] = code;
  else ranges.push([code, code]);
}

const escape = (code) => `\\u{${code.toString(16)}}`;
const lines = [];
for (let i = 0; i < ranges.length; i += 6) {
  const row = ranges.slice(i, i + 6).map(([from, to]) => (from === to ? escape(from) : `${escape(from)}-${escape(to)}`));
  lines.push(`  '${row.join('')}' +`);
}
lines[lines.length - 1] = lines[lines.length - 1].replace(/ \+$/, ';');
const source = `// Written by scripts/unicode-after-go.js on Node ${process.versions.node} (Unicode ${process.versions.unicode}), from Unicode ${GO_UNICODE}'s UnicodeData.txt. Do not edit.

/**
 * The version of Go's unicode tables in the rudder-server the gateway rule follows (Go 1.26).
 */
export const GO_UNICODE_VERSION = '${GO_UNICODE}';

/**
 * A regular expression class body (for the u flag): the code points Unicode ${process.versions.unicode} holds to be
 * letters, marks, numbers, punctuation or symbols and Unicode ${GO_UNICODE} does not have. Go's
 * unicode.IsPrint rejects them, so the gateway strips them; a Node with Unicode up to
 * ${process.versions.unicode} would take them for visible.
 */
export const UNKNOWN_TO_GO =
${lines.join('\n')}
`;
fs.writeFileSync(path.join(__dirname, '..', 'src', 'mapping', 'unicode-after-go.ts'), source);
console.log(`${ranges.length} ranges written`);
