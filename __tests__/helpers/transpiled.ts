/**
 * A child process's TypeScript as CommonJS in a temporary directory: its entry and every module
 * it imports from the repository, followed from the entry and transpiled once, without type
 * checks. A child started from it is up in a fraction of the time ts-node/register takes to load
 * the compiler and compile src/ again, which matters for a suite that starts dozens of them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
/** `from './x'`, `import './x'`, `require('./x')`, `import('./x')`: the relative ones, which are the repository's own. */
const RELATIVE_IMPORT = /(?:\bfrom\s+|\bimport\s+|\brequire\(\s*|\bimport\(\s*)'(\.\.?\/[^']+)'/g;

export interface TranspiledTree {
  /** Laid out as the repository is: `<dir>/src/...`, `<dir>/__tests__/helpers/...`. */
  dir: string;
  /** For a child run from it: packages resolve from the repository's node_modules. */
  env: Record<string, string>;
  /** Deletes the directory. */
  remove(): void;
}

/** Transpiles `entry` (a path relative to the repository) and what it imports into a new temporary directory. */
export function transpileTree(entry: string): TranspiledTree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fr-transpiled-'));
  const seen = new Set<string>();
  const pending = [path.join(ROOT, entry)];
  for (let file = pending.pop(); file; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const target = path.join(dir, path.relative(ROOT, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // JSON (package.json, for src/version.ts) is read as it is.
    if (!file.endsWith('.ts')) {
      fs.copyFileSync(file, target);
      continue;
    }
    const source = fs.readFileSync(file, 'utf8');
    for (const [, specifier] of source.matchAll(RELATIVE_IMPORT)) pending.push(resolve(path.resolve(path.dirname(file), specifier!)));
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    fs.writeFileSync(target.replace(/\.ts$/, '.js'), outputText);
  }
  return {
    dir,
    env: { NODE_PATH: path.join(ROOT, 'node_modules') },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function resolve(base: string): string {
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`transpileTree: cannot resolve ${base}`);
}
