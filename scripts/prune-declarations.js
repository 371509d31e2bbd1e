'use strict';
// Keeps in dist/ only the type declarations a consumer can reach: those of the package's entry
// points and what they import. The others describe internal modules, which `exports` does not
// let anyone import; each would still cost a block on every install.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
/** Every declaration `exports` names for `require` (the ES module wrappers' `.d.mts` re-export them). */
const ENTRY_POINTS = Object.values(require(path.join(ROOT, 'package.json')).exports)
  .map((target) => target?.require?.types)
  .filter((types) => typeof types === 'string')
  .map((types) => path.relative(DIST, path.join(ROOT, types)));

function declarations(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return declarations(file);
    return entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** The declaration file a relative specifier in `from` resolves to, as TypeScript resolves it. */
function resolve(from, specifier) {
  const target = path.resolve(path.dirname(from), specifier).replace(/\.js$/, '');
  return [`${target}.d.ts`, path.join(target, 'index.d.ts')].find((file) => fs.existsSync(file));
}

const reached = new Set();
const pending = ENTRY_POINTS.map((file) => path.join(DIST, file));
while (pending.length > 0) {
  const file = pending.pop();
  if (reached.has(file)) continue;
  reached.add(file);
  const { importedFiles, referencedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  for (const { fileName } of [...importedFiles, ...referencedFiles]) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(file, fileName);
    if (!target) throw new Error(`${path.relative(DIST, file)} imports ${fileName}, which has no declaration in dist/`);
    pending.push(target);
  }
}
for (const file of declarations(DIST)) if (!reached.has(file)) fs.rmSync(file);
